"""One output of a bench supply: constant voltage, constant current, OVP and OCP trips."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bringup.simlab.scpi_parse import ScpiError, parse_bool

Load = Callable[[float], float]  # terminal volts -> amps drawn


def open_circuit(volts: float) -> float:
    return 0.0


@dataclass
class SupplyChannel:
    """Programmed settings, protection state and the last solved operating point."""

    number: int
    max_v: float
    max_i: float
    ovp_default_v: float
    ovp_always_on: bool  # Keysight: OVP is always armed; Rigol: switched on and off
    load: Load = field(default=open_circuit, repr=False)
    set_v: float = 0.0
    i_limit: float = 0.0
    output: bool = False
    ovp_enabled: bool = False
    ovp_level: float = 0.0
    ovp_tripped: bool = False
    ocp_enabled: bool = False
    ocp_level: float | None = None  # None: trip at the current limit (Keysight)
    ocp_tripped: bool = False
    volts: float = 0.0
    amps: float = 0.0
    mode: str = "OFF"

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.set_v = 0.0
        self.i_limit = self.max_i
        self.output = False
        self.ovp_enabled = self.ovp_always_on
        self.ovp_level = self.ovp_default_v
        self.ovp_tripped = self.ocp_tripped = False
        self.ocp_enabled = False
        self.ocp_level = None if self.ovp_always_on else self.max_i
        self.volts = self.amps = 0.0
        self.mode = "OFF"

    @property
    def tripped(self) -> bool:
        return self.ovp_tripped or self.ocp_tripped

    def solve(self) -> None:
        """Settle the output against its load: CV below the current limit, CC at it, or trip."""
        if not self.output:
            self.volts, self.amps, self.mode = 0.0, 0.0, "OFF"
            return
        demand = self.load(self.set_v)
        if self.ocp_enabled and demand > self._ocp_threshold() and self.i_limit >= self._ocp_threshold():
            self._trip(ocp=True)
            return
        if demand > self.i_limit > 0:
            # The load looks like R = V/I at the programmed voltage; the supply holds I_lim.
            resistance = self.set_v / demand
            self.volts, self.amps, self.mode = self.i_limit * resistance, self.i_limit, "CC"
        else:
            self.volts, self.amps, self.mode = self.set_v, demand, "CV"
        if self.ovp_enabled and self.volts > self.ovp_level:
            self._trip(ocp=False)

    def _ocp_threshold(self) -> float:
        return self.i_limit if self.ocp_level is None else self.ocp_level

    def _trip(self, *, ocp: bool) -> None:
        if ocp:
            self.ocp_tripped = True
        else:
            self.ovp_tripped = True
        self.output = False
        self.volts, self.amps, self.mode = 0.0, 0.0, "OFF"


def checked_level(
    value: float, high: float, what: str, channel: SupplyChannel, label: str = "channel "
) -> float:
    """A programmed level within 0..high, else SCPI -222 naming the channel as the model does."""
    if not 0.0 <= value <= high:
        raise ScpiError(-222, f"{what} {value} outside 0-{high} on {label}{channel.number}")
    return value


def set_ocp_state(channel: SupplyChannel, token: str) -> None:
    channel.ocp_enabled = parse_bool(token)


def clear_ovp(channel: SupplyChannel) -> None:
    channel.ovp_tripped = False


def clear_ocp(channel: SupplyChannel) -> None:
    channel.ocp_tripped = False
