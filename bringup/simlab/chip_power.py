"""The chip as its supplies see it: rail currents, power-on sequencing, latch-up and damage."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bringup.simlab.corner import ProcessCorner


@dataclass(frozen=True)
class Rail:
    name: str
    nominal_v: float
    abs_max_v: float
    leakage_a: float  # at nominal volts, 25 degC, TT
    switched_cap_f: float  # effective switched capacitance for C*V*f
    static_a: float  # bias current at nominal volts (IO pads)


RAILS = (
    Rail("VDD_CORE", 0.80, 0.95, leakage_a=0.05, switched_cap_f=0.75e-9, static_a=0.0),
    Rail("VDD_SRAM", 0.90, 1.05, leakage_a=0.06, switched_cap_f=0.08e-9, static_a=0.0),
    Rail("VDD_IO", 1.80, 1.98, leakage_a=0.002, switched_cap_f=0.0, static_a=0.05),
)

BOOT_TOLERANCE = 0.05  # each rail within +-5 % of nominal to release reset
RAIL_UP_FRACTION = 0.5  # "up" for sequencing and brown-out purposes
RAIL_OFF_FRACTION = 0.1  # below this every rail counts as off: a latch-up clears
LATCHUP_A = 2.5  # what a latched rail draws at nominal volts
LEAKAGE_V_SLOPE = 0.12  # leakage grows e-fold per 120 mV
LEAKAGE_DOUBLING_C = 35.0  # and doubles every 35 degC
DAMAGED_LEAKAGE_FACTOR = 4.0


@dataclass(frozen=True)
class DamageRecord:
    rail: str
    volts: float
    sim_time_s: float


@dataclass
class ChipPower:
    """Electrical state of the die; `observe` applies one set of rail voltages to it."""

    corner: ProcessCorner
    rails: tuple[Rail, ...] = RAILS
    booted: bool = False
    latched: set[str] = field(default_factory=set)
    damage: DamageRecord | None = None
    _was_up: dict[str, bool] = field(default_factory=dict)

    def rail(self, name: str) -> Rail:
        return next(rail for rail in self.rails if rail.name == name)

    def current(self, rail: Rail, volts: float, die_c: float, core_hz: float) -> float:
        """Amps drawn on `rail` at `volts` (at the die)."""
        if volts <= 0:
            return 0.0
        if rail.name in self.latched:
            return volts * LATCHUP_A / rail.nominal_v
        leakage = (
            rail.leakage_a
            * self.corner.leakage_factor
            * (volts / rail.nominal_v)
            * math.exp((volts - rail.nominal_v) / LEAKAGE_V_SLOPE)
            * 2 ** ((die_c - 25.0) / LEAKAGE_DOUBLING_C)
        )
        if self.damage is not None:
            leakage *= DAMAGED_LEAKAGE_FACTOR
        dynamic = rail.switched_cap_f * volts * core_hz if self.booted else 0.0
        static = rail.static_a * volts / rail.nominal_v
        return leakage + dynamic + static

    def observe(self, volts: dict[str, float], clock_ok: bool, now: float) -> list[str]:
        """Apply rail voltages; return the events that happened: 'boot', 'reset', 'latchup'."""
        events: list[str] = []
        self._check_damage(volts, now)
        if self._latch_on_bad_order(volts):
            events.append("latchup")
        if all(volts[rail.name] < RAIL_OFF_FRACTION * rail.nominal_v for rail in self.rails):
            self.latched.clear()
        if self.booted and not self._stays_up(volts, clock_ok):
            self.booted = False
            events.append("reset")
        elif not self.booted and self._may_boot(volts, clock_ok):
            self.booted = True
            events.append("boot")
        return events

    def _check_damage(self, volts: dict[str, float], now: float) -> None:
        if self.damage is not None:
            return
        for rail in self.rails:
            if volts[rail.name] > rail.abs_max_v:
                self.damage = DamageRecord(rail.name, volts[rail.name], now)
                return

    def _latch_on_bad_order(self, volts: dict[str, float]) -> bool:
        """A rail rising through 50 % while an earlier rail in the order is below 50 % latches."""
        up = {rail.name: volts[rail.name] >= RAIL_UP_FRACTION * rail.nominal_v for rail in self.rails}
        latched_now = False
        for index, rail in enumerate(self.rails):
            rising = up[rail.name] and not self._was_up.get(rail.name, False)
            earlier_down = any(not up[earlier.name] for earlier in self.rails[:index])
            if rising and earlier_down and rail.name not in self.latched:
                self.latched.add(rail.name)
                latched_now = True
        self._was_up = up
        return latched_now

    def _stays_up(self, volts: dict[str, float], clock_ok: bool) -> bool:
        above_brownout = all(
            volts[rail.name] >= RAIL_UP_FRACTION * rail.nominal_v for rail in self.rails
        )
        return above_brownout and clock_ok and not self.latched and self.damage is None

    def _may_boot(self, volts: dict[str, float], clock_ok: bool) -> bool:
        in_tolerance = all(
            abs(volts[rail.name] - rail.nominal_v) <= BOOT_TOLERANCE * rail.nominal_v
            for rail in self.rails
        )
        return in_tolerance and clock_ok and not self.latched and self.damage is None
