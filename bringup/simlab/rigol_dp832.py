"""Simulated Rigol DP832 triple-output supply (the `psu_io` role).

`:SOUR:…` without a number addresses the channel chosen by `:INST:NSEL`. OVP and OCP are
separate from the programmed limits and switched on and off; a trip forces the output off
until it is cleared and switched on again.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bringup.simlab.physics import Physics
from bringup.simlab.scpi_instrument import ScpiInstrument
from bringup.simlab.scpi_parse import Command, ScpiError, parse_bool, parse_number
from bringup.simlab.supply import SupplyChannel, checked_level, clear_ocp, clear_ovp, set_ocp_state

CHANNELS = range(1, 4)
PROTECTION_HEADROOM = 1.1


class RigolDP832(ScpiInstrument):
    idn = "RIGOL TECHNOLOGIES,DP832,DP8C000000001,00.01.14"

    def __init__(self, physics: Physics, role: str = "psu_io") -> None:
        super().__init__()
        self.physics = physics
        self.channels = physics.supplies[role]
        self.selected = 1
        add = self.table.add
        add("INSTrument:NSELect", self._select)
        add("INSTrument:NSELect?", lambda cmd: str(self.selected))
        add("[SOURce#]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]", self._source(self._set_volts))
        add("[SOURce#]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]?", self._source_query("set_v"))
        add("[SOURce#]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]", self._source(self._set_limit))
        add("[SOURce#]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]?", self._source_query("i_limit"))
        add("OUTPut:[STATe]", self._channel_setting(self._set_output))
        add("OUTPut:[STATe]?", self._channel_query(lambda c: _on_off(c.output)))
        add("MEASure:VOLTage:[DC]?", self._channel_query(lambda c: f"{c.volts:.4f}"))
        add("MEASure:CURRent:[DC]?", self._channel_query(lambda c: f"{c.amps:.4f}"))
        add("OUTPut:OVP:VALue", self._channel_setting(self._set_ovp_level))
        add("OUTPut:OVP:VALue?", self._channel_query(lambda c: f"{c.ovp_level:.3f}"))
        add("OUTPut:OVP:[STATe]", self._channel_setting(self._set_ovp_state))
        add("OUTPut:OVP:[STATe]?", self._channel_query(lambda c: _on_off(c.ovp_enabled)))
        add("OUTPut:OVP:QUEStion?", self._channel_query(lambda c: _yes_no(c.ovp_tripped)))
        add("OUTPut:OVP:CLEar", self._channel_action(clear_ovp))
        add("OUTPut:OCP:VALue", self._channel_setting(self._set_ocp_level))
        add("OUTPut:OCP:VALue?", self._channel_query(lambda c: f"{c.ocp_level or 0.0:.3f}"))
        add("OUTPut:OCP:[STATe]", self._channel_setting(set_ocp_state))
        add("OUTPut:OCP:[STATe]?", self._channel_query(lambda c: _on_off(c.ocp_enabled)))
        add("OUTPut:OCP:QUEStion?", self._channel_query(lambda c: _yes_no(c.ocp_tripped)))
        add("OUTPut:OCP:CLEar", self._channel_action(clear_ocp))

    def reset(self) -> None:
        with self.physics.lock:
            self.selected = 1
            for channel in self.channels:
                channel.reset()
            self.physics.update()

    # -- channel addressing ----------------------------------------------------------------

    def _channel(self, token: str | None) -> SupplyChannel:
        if token is None:
            return self.channels[self.selected - 1]
        found = re.fullmatch(r"(?:CH)?(\d+)", token.strip().upper())
        if not found:
            raise ScpiError(-224, f"{token!r} is not a channel like CH1")
        number = int(found.group(1))
        if number not in CHANNELS:
            raise ScpiError(-222, f"channel {number} does not exist (CH1-CH3)")
        return self.channels[number - 1]

    def _select(self, command: Command) -> None:
        command.param_count(1)
        self.selected = self._channel(command.params[0]).number

    def _source(self, apply: Callable[[SupplyChannel, float], None]) -> Callable[[Command], None]:
        def handle(command: Command) -> None:
            command.param_count(1)
            channel = self._channel(str(command.suffix(self.selected)))
            self._apply(lambda: apply(channel, parse_number(command.params[0])))

        return handle

    def _source_query(self, attribute: str) -> Callable[[Command], str]:
        def handle(command: Command) -> str:
            command.param_count(0)
            channel = self._channel(str(command.suffix(self.selected)))
            return f"{getattr(channel, attribute):.4f}"

        return handle

    def _channel_setting(self, apply: Callable[[SupplyChannel, str], None]) -> Callable[[Command], None]:
        """`X CH<n>,<value>` or `X <value>` for the selected channel."""

        def handle(command: Command) -> None:
            command.param_count(1, 2)
            token = command.params[0] if len(command.params) == 2 else None
            channel = self._channel(token)
            self._apply(lambda: apply(channel, command.params[-1]))

        return handle

    def _channel_query(self, read: Callable[[SupplyChannel], str]) -> Callable[[Command], str]:
        def handle(command: Command) -> str:
            command.param_count(0, 1)
            channel = self._channel(command.params[0] if command.params else None)
            with self.physics.lock:
                self.physics.update()
                return read(channel)

        return handle

    def _channel_action(self, apply: Callable[[SupplyChannel], None]) -> Callable[[Command], None]:
        def handle(command: Command) -> None:
            command.param_count(0, 1)
            channel = self._channel(command.params[0] if command.params else None)
            self._apply(lambda: apply(channel))

        return handle

    def _apply(self, change: Callable[[], None]) -> None:
        with self.physics.lock:
            self.physics.update()
            change()
            self.physics.update()

    # -- settings ------------------------------------------------------------------------------

    @staticmethod
    def _set_volts(channel: SupplyChannel, volts: float) -> None:
        channel.set_v = checked_level(volts, channel.max_v, "voltage", channel, "CH")

    @staticmethod
    def _set_limit(channel: SupplyChannel, amps: float) -> None:
        channel.i_limit = checked_level(amps, channel.max_i, "current", channel, "CH")

    @staticmethod
    def _set_output(channel: SupplyChannel, token: str) -> None:
        on = parse_bool(token)
        if on and channel.tripped:
            raise ScpiError(-221, f"CH{channel.number} protection tripped; clear it first")
        channel.output = on

    @staticmethod
    def _set_ovp_level(channel: SupplyChannel, token: str) -> None:
        limit = channel.max_v * PROTECTION_HEADROOM
        channel.ovp_level = checked_level(parse_number(token), limit, "OVP", channel, "CH")

    @staticmethod
    def _set_ovp_state(channel: SupplyChannel, token: str) -> None:
        channel.ovp_enabled = parse_bool(token)

    @staticmethod
    def _set_ocp_level(channel: SupplyChannel, token: str) -> None:
        limit = channel.max_i * PROTECTION_HEADROOM
        channel.ocp_level = checked_level(parse_number(token), limit, "OCP", channel, "CH")


def _on_off(flag: bool) -> str:
    return "ON" if flag else "OFF"


def _yes_no(flag: bool) -> str:
    return "YES" if flag else "NO"
