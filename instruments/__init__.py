"""Hardware drivers: SCPI instruments over pyvisa and the chip console over pyserial."""
