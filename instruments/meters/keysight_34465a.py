"""Keysight 34465A 6½-digit DMM: DC voltage and current, configured once, then `READ?`."""

from __future__ import annotations

import re

from instruments.scpi import ScpiInstrument, format_number

#: The integration times the meter accepts, in power-line cycles.
VALID_NPLC = (0.02, 0.2, 1, 10, 100)


class Keysight34465A(ScpiInstrument):
    expected_makers = ("Keysight Technologies", "Agilent Technologies")
    expected_model = re.compile(r"3446[05]A")
    expected_description = "a Keysight 34465A"

    def configure_dc_voltage(self, full_scale: float | None = None, nplc: float = 1) -> None:
        """DC volts; `full_scale` None autoranges."""
        self._configure("VOLT", full_scale, nplc)

    def configure_dc_current(self, full_scale: float | None = None, nplc: float = 1) -> None:
        """DC amps; `full_scale` None autoranges."""
        self._configure("CURR", full_scale, nplc)

    def configuration(self) -> str:
        """The function and range, as the meter reports it (`VOLT +1.000000E+01,+3.0E-06`)."""
        return self.query("CONF?").strip('"')

    def nplc(self) -> float:
        function = self.configuration().split(" ", 1)[0]
        return self.query_float(f"{function}:DC:NPLC?")

    def read(self) -> float:
        return self.query_float("READ?")

    def measure_dc_voltage(self) -> float:
        """Configure DC volts with defaults and read, in one command."""
        return self.query_float("MEAS:VOLT:DC?")

    def measure_dc_current(self) -> float:
        return self.query_float("MEAS:CURR:DC?")

    def _configure(self, function: str, full_scale: float | None, nplc: float) -> None:
        if nplc not in VALID_NPLC:
            raise ValueError(f"{self.name}: NPLC {nplc} is not one of {VALID_NPLC}")
        scale = "AUTO" if full_scale is None else format_number(full_scale)
        with self.transaction():
            self.write(f"CONF:{function}:DC {scale}")
            self.write(f"{function}:DC:NPLC {format_number(nplc)}")
