"""Keysight E36312A triple-output supply: every command addresses its channel with `(@n)`."""

from __future__ import annotations

import re

from instruments.errors import UnknownChannel
from instruments.scpi import ScpiInstrument, format_number, format_on_off


class KeysightE36312A(ScpiInstrument):
    """Channel 1: 0-6 V, 0-5 A; channels 2 and 3: 0-25 V, 0-1 A."""

    expected_makers = ("Keysight Technologies",)
    expected_model = re.compile(r"E36312A")
    expected_description = "a Keysight E36312A"
    channel_count = 3

    def channel(self, number: int) -> E36312AChannel:
        if not 1 <= number <= self.channel_count:
            raise UnknownChannel(self.name, number, range(1, self.channel_count + 1))
        return E36312AChannel(self, number)

    def all_off(self) -> None:
        self.write(f"OUTP OFF,(@1:{self.channel_count})")


class E36312AChannel:
    """One output; OVP is always armed on this supply, OCP trips at the current limit."""

    def __init__(self, supply: KeysightE36312A, number: int) -> None:
        self.supply = supply
        self.number = number
        self._at = f"(@{number})"

    def set_voltage(self, volts: float) -> None:
        self.supply.write(f"VOLT {format_number(volts)},{self._at}")

    def voltage_setting(self) -> float:
        return self.supply.query_float(f"VOLT? {self._at}")

    def set_current_limit(self, amps: float) -> None:
        self.supply.write(f"CURR {format_number(amps)},{self._at}")

    def current_limit(self) -> float:
        return self.supply.query_float(f"CURR? {self._at}")

    def set_output(self, on: bool) -> None:
        self.supply.write(f"OUTP {format_on_off(on)},{self._at}")

    def output_enabled(self) -> bool:
        return self.supply.query_bool(f"OUTP? {self._at}")

    def measure_voltage(self) -> float:
        return self.supply.query_float(f"MEAS:VOLT? {self._at}")

    def measure_current(self) -> float:
        return self.supply.query_float(f"MEAS:CURR? {self._at}")

    def set_over_voltage_protection(self, volts: float) -> None:
        self.supply.write(f"VOLT:PROT {format_number(volts)},{self._at}")

    def over_voltage_protection(self) -> float:
        return self.supply.query_float(f"VOLT:PROT? {self._at}")

    def set_over_current_protection(self, enabled: bool) -> None:
        self.supply.write(f"CURR:PROT:STAT {format_on_off(enabled)},{self._at}")

    def protection_tripped(self) -> str | None:
        with self.supply.transaction():
            if self.supply.query_bool(f"VOLT:PROT:TRIP? {self._at}"):
                return "OVP"
            if self.supply.query_bool(f"CURR:PROT:TRIP? {self._at}"):
                return "OCP"
        return None

    def clear_protection(self) -> None:
        with self.supply.transaction():
            self.supply.write(f"VOLT:PROT:CLE {self._at}")
            self.supply.write(f"CURR:PROT:CLE {self._at}")

    def __repr__(self) -> str:
        return f"<{self.supply.name} channel {self.number}>"
