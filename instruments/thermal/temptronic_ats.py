"""Temptronic ThermoStream ATS-5xx: no SCPI error queue; `EROR?` answers an error register."""

from __future__ import annotations

import re
from typing import ClassVar

from instruments.errors import ScpiError, UnexpectedResponse
from instruments.scpi import ScpiInstrument, format_number

#: `EROR?` bits the driver explains; others are reported by number.
ERROR_BITS = {
    0: "air temperature limit",
    3: "flow off while cooling or heating",
    4: "test head up",
    12: "unknown command or value out of range",
}
_AT_TEMPERATURE = 1 << 0


def describe_error_register(value: int) -> str:
    """`EROR?` value -> 'air temperature limit; test head up'."""
    bits = (bit for bit in range(value.bit_length()) if value >> bit & 1)
    return "; ".join(ERROR_BITS.get(bit, f"error bit {bit}") for bit in bits)


class TemptronicATS(ScpiInstrument):
    """Set point `setpoint_index` (0..11, SETN) is the one programmed and selected."""

    expected_makers = ("TEMPTRONIC",)
    expected_model = re.compile(r"ATS-5\d\d")
    expected_description = "a Temptronic ThermoStream ATS-5xx"
    error_query: ClassVar[str] = "EROR?"
    setpoint_index: ClassVar[int] = 0

    def set_temperature(self, degc: float) -> None:
        with self.transaction():
            self.write(f"SETN {self.setpoint_index}")
            self.write(f"SETP {format_number(degc)}")

    def setpoint(self) -> float:
        with self.transaction():
            self.write(f"SETN {self.setpoint_index}")
            return self.query_float("SETP?")

    def temperature(self) -> float:
        return self.query_float("TEMP?")

    def at_temperature(self) -> bool:
        return bool(self.query_int("TECR?") & _AT_TEMPERATURE)

    def set_window(self, degc: float) -> None:
        self.write(f"WNDW {format_number(degc)}")

    def set_soak(self, seconds: float) -> None:
        self.write(f"SOAK {round(seconds)}")

    def head_down(self) -> None:
        self.write("HEAD 1")

    def head_up(self) -> None:
        self.write("HEAD 0")

    def head_is_down(self) -> bool:
        return self.query_bool("HEAD?")

    def set_flow(self, on: bool) -> None:
        self.write(f"FLOW {int(on)}")

    def flow_on(self) -> bool:
        return self.query_bool("FLOW?")

    def set_limits(self, low_degc: float, high_degc: float) -> None:
        if low_degc > high_degc:
            raise ValueError(f"{self.name}: low limit {low_degc} is above high limit {high_degc}")
        with self.transaction():
            self.write(f"LLIM {format_number(low_degc)}")
            self.write(f"ULIM {format_number(high_degc)}")

    def limits(self) -> tuple[float, float]:
        with self.transaction():
            return self.query_float("LLIM?"), self.query_float("ULIM?")

    def _check_errors(self, command: str) -> None:
        answer = self._raw_query(self.error_query)
        try:
            register = int(answer)
        except ValueError:
            raise UnexpectedResponse(self.name, self.error_query, answer, "an integer") from None
        if register:
            raise ScpiError(register, describe_error_register(register), command, self.name)
