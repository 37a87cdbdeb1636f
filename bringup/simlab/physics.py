"""The one physical model behind every simulated instrument and the chip.

Supplies, reference clock and thermal forcer are wired to the chip as in the wiring table of
docs/scpi-commands.md. State is computed from elapsed simulated time whenever an instrument
or the chip asks (`update()`), so nothing ticks in the background and a `MEAS:CURR?` costs no
more than an `*IDN?`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from bringup.simlab.chip_power import ChipPower, DamageRecord, Rail
from bringup.simlab.corner import ProcessCorner
from bringup.simlab.simtime import SimClock
from bringup.simlab.supply import SupplyChannel
from bringup.simlab.thermal import AirTemperature

# role, channel feeding each rail (the station file says the same)
RAIL_WIRING = {"VDD_CORE": ("psu_core", 1), "VDD_SRAM": ("psu_core", 2), "VDD_IO": ("psu_io", 1)}
BOARD_RESISTANCE_OHM = 0.010  # supply terminals to die, per rail
THETA_C_PER_W = 10.0  # junction to forced air
DEFAULT_PLL_MULTIPLIER = 20
CLOCK_MIN_HZ, CLOCK_MAX_HZ, CLOCK_MIN_VPP = 10e6, 30e6, 1.0
SETTLE_PASSES = 6
# Dies near the wafer edge are slower: Vmin rises with the square of the distance from the
# centre, by EDGE_VMIN_V at WAFER_RADIUS_DIES (two chips of one lot differ by serial and place).
EDGE_VMIN_V = 0.020
WAFER_RADIUS_DIES = 10.0


def die_position_vmin_v(die: tuple[int, int] | None) -> float:
    """What the die's place on the wafer adds to its Vmin (0 at the centre or when unknown)."""
    if die is None:
        return 0.0
    x, y = die
    return EDGE_VMIN_V * (x * x + y * y) / WAFER_RADIUS_DIES**2


@dataclass
class ClockOutput:
    """The waveform generator's output, as the chip's reference clock input sees it."""

    function: str = "SIN"
    frequency_hz: float = 1000.0
    amplitude_vpp: float = 0.1
    offset_v: float = 0.0
    output: bool = False

    @property
    def usable(self) -> bool:
        return (
            self.output
            and self.function == "SQU"
            and CLOCK_MIN_HZ <= self.frequency_hz <= CLOCK_MAX_HZ
            and self.amplitude_vpp >= CLOCK_MIN_VPP
        )


def keysight_e36312a_channels() -> list[SupplyChannel]:
    return [
        SupplyChannel(1, 6.0, 5.0, ovp_default_v=6.6, ovp_always_on=True),
        SupplyChannel(2, 25.0, 1.0, ovp_default_v=27.5, ovp_always_on=True),
        SupplyChannel(3, 25.0, 1.0, ovp_default_v=27.5, ovp_always_on=True),
    ]


def rigol_dp832_channels() -> list[SupplyChannel]:
    return [
        SupplyChannel(1, 30.0, 3.0, ovp_default_v=33.0, ovp_always_on=False),
        SupplyChannel(2, 30.0, 3.0, ovp_default_v=33.0, ovp_always_on=False),
        SupplyChannel(3, 5.0, 3.0, ovp_default_v=5.5, ovp_always_on=False),
    ]


class Physics:
    """Bench + chip state. Instruments change settings under `lock`, then call `update()`."""

    def __init__(self, chip_serial: str, clock: SimClock, die: tuple[int, int] | None = None) -> None:
        self.clock = clock
        self.die_offset_v = die_position_vmin_v(die)
        self.lock = threading.RLock()
        self.corner = ProcessCorner.from_serial(chip_serial)
        self.chip = ChipPower(self.corner)
        self.supplies = {"psu_core": keysight_e36312a_channels(), "psu_io": rigol_dp832_channels()}
        self.refclk = ClockOutput()
        self.air = AirTemperature(clock.now())
        self.pll_multiplier = DEFAULT_PLL_MULTIPLIER
        self.die_c = self.air.at(clock.now())
        self._listeners: list[Callable[[str], None]] = []
        for rail in self.chip.rails:
            self.channel_for(rail.name).load = self._load_of(rail)

    # -- wiring ------------------------------------------------------------------------

    def channel_for(self, rail_name: str) -> SupplyChannel:
        role, number = RAIL_WIRING[rail_name]
        return self.supplies[role][number - 1]

    def _load_of(self, rail: Rail) -> Callable[[float], float]:
        return lambda volts: self.chip.current(rail, volts, self.die_c, self.core_hz)

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """`listener(event)` for 'boot', 'reset' and 'latchup'; called with `lock` held."""
        self._listeners.append(listener)

    # -- the model ---------------------------------------------------------------------

    @property
    def core_hz(self) -> float:
        return self.refclk.frequency_hz * self.pll_multiplier if self.refclk.usable else 0.0

    def update(self) -> None:
        """Settle supplies, chip and temperatures at the present simulated time."""
        with self.lock:
            now = self.clock.now()
            air_c = self.air.at(now)
            for _ in range(SETTLE_PASSES):
                for channels in self.supplies.values():
                    for channel in channels:
                        channel.solve()
                die_c = air_c + THETA_C_PER_W * self.power_w()
                events = self.chip.observe(self.rail_volts(), self.refclk.usable, now)
                for event in events:
                    self._announce(event)
                if not events and abs(die_c - self.die_c) < 1e-4:
                    break
                self.die_c = die_c

    def _announce(self, event: str) -> None:
        if event == "boot":
            self.pll_multiplier = DEFAULT_PLL_MULTIPLIER
        for listener in self._listeners:
            listener(event)

    def rail_volts(self) -> dict[str, float]:
        """Volts at the die: supply terminals less the board's IR drop."""
        volts = {}
        for rail in self.chip.rails:
            channel = self.channel_for(rail.name)
            volts[rail.name] = max(0.0, channel.volts - channel.amps * BOARD_RESISTANCE_OHM)
        return volts

    def power_w(self) -> float:
        return sum(
            self.channel_for(rail.name).volts * self.channel_for(rail.name).amps
            for rail in self.chip.rails
        )

    # -- what tests and the chip's firmware read -----------------------------------------

    def die_temperature(self) -> float:
        with self.lock:
            self.update()
            return self.die_c

    def core_die_volts(self) -> float:
        with self.lock:
            self.update()
            return self.rail_volts()["VDD_CORE"]

    def rail_amps(self, rail_name: str) -> float:
        with self.lock:
            self.update()
            return self.channel_for(rail_name).amps

    @property
    def booted(self) -> bool:
        with self.lock:
            self.update()
            return self.chip.booted

    @property
    def damage(self) -> DamageRecord | None:
        return self.chip.damage

    @property
    def latched_rails(self) -> set[str]:
        return set(self.chip.latched)

    def vmin(self, core_mhz: float | None = None, die_c: float | None = None) -> float:
        """This die's Vmin; by default at the present core clock and die temperature."""
        with self.lock:
            self.update()
            mhz = self.core_hz / 1e6 if core_mhz is None else core_mhz
            return self.corner.vmin(mhz, self.die_c if die_c is None else die_c) + self.die_offset_v

    def core_margin_v(self) -> float:
        """Core volts at the die above Vmin at the present operating point (negative: below)."""
        return self.core_die_volts() - self.vmin()
