"""Keysight (Agilent) 33500B-series waveform generator used as the chip's reference clock."""

from __future__ import annotations

import re

from instruments.scpi import ScpiInstrument, format_number, format_on_off


class Keysight33500B(ScpiInstrument):
    """Output 1 of any 335xxB; the clock is a square wave."""

    expected_makers = ("Keysight Technologies", "Agilent Technologies")
    expected_model = re.compile(r"335\d\dB")
    expected_description = "a Keysight/Agilent 33500B-series generator"

    def set_frequency(self, hertz: float) -> None:
        self.write(f"FREQ {format_number(hertz)}")

    def frequency(self) -> float:
        return self.query_float("FREQ?")

    def set_amplitude(self, volts_pp: float) -> None:
        self.write(f"VOLT {format_number(volts_pp)}")

    def amplitude(self) -> float:
        return self.query_float("VOLT?")

    def set_offset(self, volts: float) -> None:
        self.write(f"VOLT:OFFS {format_number(volts)}")

    def offset(self) -> float:
        return self.query_float("VOLT:OFFS?")

    def set_output(self, on: bool) -> None:
        """Turning the output on selects the square wave first: a clock is never a sine."""
        with self.transaction():
            if on:
                self.write("FUNC SQU")
            self.write(f"OUTP {format_on_off(on)}")

    def output_enabled(self) -> bool:
        return self.query_bool("OUTP?")

    def waveform(self) -> str:
        return self.query("FUNC?")
