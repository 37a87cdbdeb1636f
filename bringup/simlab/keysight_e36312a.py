"""Simulated Keysight E36312A triple-output supply (the `psu_core` role).

Protection: OVP is always armed; a trip forces the output off and it stays off after
`VOLT:PROT:CLE` / `CURR:PROT:CLE` until `OUTP ON` is sent again.
"""

from __future__ import annotations

from collections.abc import Callable

from bringup.simlab.physics import Physics
from bringup.simlab.scpi_instrument import ScpiInstrument
from bringup.simlab.scpi_parse import (
    Command,
    ScpiError,
    parse_bool,
    parse_channel_list,
    parse_number,
    scpi_float,
)
from bringup.simlab.supply import SupplyChannel, checked_level, clear_ocp, clear_ovp, set_ocp_state

CHANNELS = range(1, 4)
OVP_HEADROOM = 1.1  # OVP may be set to 110 % of the channel's full scale


class KeysightE36312A(ScpiInstrument):
    idn = "Keysight Technologies,E36312A,MY59001234,2.1.0-1.0.4-1.12"

    def __init__(self, physics: Physics, role: str = "psu_core") -> None:
        super().__init__()
        self.physics = physics
        self.channels = physics.supplies[role]
        add = self.table.add
        add("[SOURce]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]", self._setter(self._set_volts))
        add("[SOURce]:VOLTage:[LEVel]:[IMMediate]:[AMPLitude]?", self._getter(lambda c: c.set_v))
        add("[SOURce]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]", self._setter(self._set_limit))
        add("[SOURce]:CURRent:[LEVel]:[IMMediate]:[AMPLitude]?", self._getter(lambda c: c.i_limit))
        add("OUTPut:[STATe]", self._setter(self._set_output))
        add("OUTPut:[STATe]?", self._getter(lambda c: "1" if c.output else "0"))
        add("MEASure:[SCALar]:VOLTage:[DC]?", self._getter(lambda c: c.volts))
        add("MEASure:[SCALar]:CURRent:[DC]?", self._getter(lambda c: c.amps))
        add("[SOURce]:VOLTage:PROTection:[LEVel]", self._setter(self._set_ovp))
        add("[SOURce]:VOLTage:PROTection:[LEVel]?", self._getter(lambda c: c.ovp_level))
        add("[SOURce]:VOLTage:PROTection:TRIPped?", self._getter(lambda c: int(c.ovp_tripped)))
        add("[SOURce]:VOLTage:PROTection:CLEar", self._action(clear_ovp))
        add("[SOURce]:CURRent:PROTection:STATe", self._setter(set_ocp_state))
        add("[SOURce]:CURRent:PROTection:STATe?", self._getter(lambda c: int(c.ocp_enabled)))
        add("[SOURce]:CURRent:PROTection:TRIPped?", self._getter(lambda c: int(c.ocp_tripped)))
        add("[SOURce]:CURRent:PROTection:CLEar", self._action(clear_ocp))

    def reset(self) -> None:
        with self.physics.lock:
            for channel in self.channels:
                channel.reset()
            self.physics.update()

    # -- command shapes: `X <value>[,(@list)]`, `X? [(@list)]`, `X [(@list)]` -------------

    def _targets(self, tokens: tuple[str, ...]) -> list[SupplyChannel]:
        numbers = parse_channel_list(tokens[0], CHANNELS) if tokens else [1]
        return [self.channels[n - 1] for n in numbers]

    def _setter(self, apply: Callable[[SupplyChannel, str], None]) -> Callable[[Command], None]:
        def handle(command: Command) -> None:
            command.param_count(1, 2)
            with self.physics.lock:
                self.physics.update()
                for channel in self._targets(command.params[1:]):
                    apply(channel, command.params[0])
                self.physics.update()

        return handle

    def _getter(self, read: Callable[[SupplyChannel], object]) -> Callable[[Command], str]:
        def handle(command: Command) -> str:
            command.param_count(0, 1)
            with self.physics.lock:
                self.physics.update()
                values = [read(channel) for channel in self._targets(command.params)]
            return ",".join(v if isinstance(v, str) else _format(v) for v in values)

        return handle

    def _action(self, apply: Callable[[SupplyChannel], None]) -> Callable[[Command], None]:
        def handle(command: Command) -> None:
            command.param_count(0, 1)
            with self.physics.lock:
                for channel in self._targets(command.params):
                    apply(channel)
                self.physics.update()

        return handle

    # -- settings ------------------------------------------------------------------------

    def _set_volts(self, channel: SupplyChannel, token: str) -> None:
        channel.set_v = checked_level(parse_number(token), channel.max_v, "voltage", channel)

    def _set_limit(self, channel: SupplyChannel, token: str) -> None:
        channel.i_limit = checked_level(parse_number(token), channel.max_i, "current", channel)

    def _set_ovp(self, channel: SupplyChannel, token: str) -> None:
        level = checked_level(parse_number(token), channel.max_v * OVP_HEADROOM, "OVP", channel)
        channel.ovp_level = level

    def _set_output(self, channel: SupplyChannel, token: str) -> None:
        on = parse_bool(token)
        if on and channel.tripped:
            raise ScpiError(-221, f"channel {channel.number} protection tripped; clear it first")
        channel.output = on


def _format(value: object) -> str:
    if isinstance(value, bool | int):
        return str(int(value))
    return scpi_float(float(value))  # type: ignore[arg-type]
