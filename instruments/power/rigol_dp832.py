"""Rigol DP832 triple-output supply: `:SOUR` addresses the channel selected with `:INST:NSEL`."""

from __future__ import annotations

import re

from instruments.errors import UnknownChannel
from instruments.scpi import ScpiInstrument, format_number, format_on_off


class RigolDP832(ScpiInstrument):
    """Channels 1 and 2: 0-30 V, 0-3 A; channel 3: 0-5 V, 0-3 A."""

    expected_makers = ("RIGOL TECHNOLOGIES",)
    expected_model = re.compile(r"DP832A?")
    expected_description = "a Rigol DP832"
    error_query = ":SYST:ERR?"
    channel_count = 3

    def channel(self, number: int) -> DP832Channel:
        if not 1 <= number <= self.channel_count:
            raise UnknownChannel(self.name, number, range(1, self.channel_count + 1))
        return DP832Channel(self, number)

    def all_off(self) -> None:
        with self.transaction():
            for number in range(1, self.channel_count + 1):
                self.write(f":OUTP CH{number},OFF")


class DP832Channel:
    """One output. Source settings select the channel first, under the supply's lock, so a
    selection from another thread cannot land between the two commands."""

    def __init__(self, supply: RigolDP832, number: int) -> None:
        self.supply = supply
        self.number = number
        self._ch = f"CH{number}"

    def set_voltage(self, volts: float) -> None:
        with self.supply.transaction():
            self._select()
            self.supply.write(f":SOUR:VOLT {format_number(volts)}")

    def voltage_setting(self) -> float:
        with self.supply.transaction():
            self._select()
            return self.supply.query_float(":SOUR:VOLT?")

    def set_current_limit(self, amps: float) -> None:
        # The OCP level follows the current limit, so that OCP means "trip at the limit" as on
        # every other supply (see PowerChannel.set_over_current_protection).
        level = format_number(amps)
        with self.supply.transaction():
            self._select()
            self.supply.write(f":SOUR:CURR {level}")
            self.supply.write(f":OUTP:OCP:VAL {self._ch},{level}")

    def current_limit(self) -> float:
        with self.supply.transaction():
            self._select()
            return self.supply.query_float(":SOUR:CURR?")

    def set_output(self, on: bool) -> None:
        self.supply.write(f":OUTP {self._ch},{format_on_off(on)}")

    def output_enabled(self) -> bool:
        return self.supply.query_bool(f":OUTP? {self._ch}")

    def measure_voltage(self) -> float:
        return self.supply.query_float(f":MEAS:VOLT? {self._ch}")

    def measure_current(self) -> float:
        return self.supply.query_float(f":MEAS:CURR? {self._ch}")

    def set_over_voltage_protection(self, volts: float) -> None:
        with self.supply.transaction():
            self.supply.write(f":OUTP:OVP:VAL {self._ch},{format_number(volts)}")
            self.supply.write(f":OUTP:OVP {self._ch},ON")

    def over_voltage_protection(self) -> float:
        return self.supply.query_float(f":OUTP:OVP:VAL? {self._ch}")

    def set_over_current_protection(self, enabled: bool) -> None:
        self.supply.write(f":OUTP:OCP {self._ch},{format_on_off(enabled)}")

    def protection_tripped(self) -> str | None:
        with self.supply.transaction():
            if self.supply.query_bool(f":OUTP:OVP:QUES? {self._ch}"):
                return "OVP"
            if self.supply.query_bool(f":OUTP:OCP:QUES? {self._ch}"):
                return "OCP"
        return None

    def clear_protection(self) -> None:
        with self.supply.transaction():
            self.supply.write(f":OUTP:OVP:CLEAR {self._ch}")
            self.supply.write(f":OUTP:OCP:CLEAR {self._ch}")

    def _select(self) -> None:
        self.supply.write(f":INST:NSEL {self.number}")

    def __repr__(self) -> str:
        return f"<{self.supply.name} channel {self.number}>"
