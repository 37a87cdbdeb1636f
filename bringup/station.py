"""The station file: the bench as it is wired, validated before anything is opened.

A station names its instruments (driver + VISA resource, or a serial port for the console), its
rails (supply channel, nominal volts, absolute maximum, current limit, ramp limits) and the
power-on order. It is the only place an absolute maximum lives. `load_station` validates the
whole file and reports every mistake as `file:line: what — fix`; `Station.open` then opens the
instruments and binds each rail to its supply channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bringup.yamlfile import (
    ConfigError,
    ConfigErrors,
    LocatedYaml,
    errors_from_validation,
    load_located,
)

if TYPE_CHECKING:
    from instruments.roles import Multimeter, PowerChannel, PowerSupply

# Which role each driver plays. Kept here (not imported from instruments.registry) so that
# validating a station file never imports pyvisa; a test checks the two agree.
DRIVER_ROLES: dict[str, str] = {
    "keysight_e36312a": "power_supply",
    "rigol_dp832": "power_supply",
    "keysight_34465a": "multimeter",
    "temptronic_ats": "thermal_forcer",
    "keysight_33500b": "clock_source",
    "serial_console": "console",
}
SUPPLY_CHANNELS = {"keysight_e36312a": 3, "rigol_dp832": 3}

# Physical bounds of a station file; docs/formats.md gives the reason for each.
MAX_RAIL_V = 60.0  # no bench supply bringup drives goes higher; 50003 V is a typo
MAX_CURRENT_A = 20.0  # the largest bench supply channel in use is 5 A
MIN_TOLERANCE_V, MAX_TOLERANCE_V = 0.001, 1.0  # a supply's readback resolves ~1 mV
MIN_RAMP_STEP_V = 0.001  # below the supplies' 1 mV programming resolution a step changes nothing
MAX_RAMP_STEPS = 2000  # abs_max_v / ramp_step_v: each step is an SCPI command and a readback
MIN_RAMP_RATE_V_PER_S, MAX_RAMP_RATE_V_PER_S = 0.01, 1000.0
MAX_RAMP_S = 30.0  # abs_max_v / ramp_rate_v_per_s: a slower ramp keeps Ctrl-C waiting
MIN_BAUD, MAX_BAUD = 300, 4_000_000  # standard UART rates up to the fastest USB-UART bridges
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 0.01, 600.0  # an instrument silent for 10 minutes is gone
MAX_CLOCK_HZ = 500e6  # above any reference clock a function generator gives
MIN_VPP, MAX_VPP = 0.001, 10.0  # the 33500B's output range into 50 ohm
MIN_CELSIUS, MAX_CELSIUS = -80.0, 225.0  # the thermal forcer's air range (Temptronic ATS)
MAX_NAME = 200  # names are shown in one line of the TUI and messages
MAX_ADDRESS = 4096  # a VISA resource string or a device path


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=MAX_ADDRESS)


class InstrumentSpec(_Strict):
    driver: str
    resource: str | None = None
    port: str | None = None
    baudrate: int = Field(115200, ge=MIN_BAUD, le=MAX_BAUD)
    timeout_s: float = Field(2.0, ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S)

    @field_validator("driver")
    @classmethod
    def _known_driver(cls, driver: str) -> str:
        if driver not in DRIVER_ROLES:
            raise ValueError(f"unknown driver '{driver}' — use one of: {', '.join(sorted(DRIVER_ROLES))}")
        return driver

    @model_validator(mode="after")
    def _address_matches_driver(self) -> InstrumentSpec:
        if self.driver == "serial_console":
            if not self.port:
                raise ValueError("a serial_console needs 'port' — add port: /dev/ttyUSB0 (or the pty)")
        elif not self.resource:
            raise ValueError(
                f"driver {self.driver} needs 'resource' — add resource: "
                "TCPIP0::<address>::5025::SOCKET (the VISA address of the instrument)"
            )
        return self

    @property
    def role(self) -> str:
        return DRIVER_ROLES[self.driver]

    @property
    def address(self) -> str:
        return self.port if self.driver == "serial_console" else str(self.resource)


class RailSpec(_Strict):
    supply: str
    channel: int = Field(ge=1, le=16)
    nominal_v: float = Field(gt=0, le=MAX_RAIL_V)
    abs_max_v: float = Field(gt=0, le=MAX_RAIL_V)
    min_v: float | None = Field(None, gt=0, le=MAX_RAIL_V)  # the lowest a sweep may take it (chip floor)
    current_limit_a: float = Field(gt=0, le=MAX_CURRENT_A)
    tolerance_v: float = Field(0.02, ge=MIN_TOLERANCE_V, le=MAX_TOLERANCE_V)
    ramp_step_v: float = Field(0.1, ge=MIN_RAMP_STEP_V, le=MAX_RAIL_V)
    ramp_rate_v_per_s: float = Field(10.0, ge=MIN_RAMP_RATE_V_PER_S, le=MAX_RAMP_RATE_V_PER_S)
    meter: str | None = None

    @model_validator(mode="after")
    def _nominal_below_maximum(self) -> RailSpec:
        if self.nominal_v > self.abs_max_v:
            raise ValueError(
                f"nominal_v {self.nominal_v} V is above abs_max_v {self.abs_max_v} V — "
                "lower nominal_v or check the chip's datasheet for the absolute maximum"
            )
        if self.nominal_v + self.tolerance_v > self.abs_max_v:
            raise ValueError(
                f"nominal_v + tolerance_v ({self.nominal_v + self.tolerance_v:g} V) reaches "
                f"abs_max_v {self.abs_max_v} V — narrow tolerance_v"
            )
        return self._ramp_is_sensible()

    def _ramp_is_sensible(self) -> RailSpec:
        """A ramp across the whole rail must end in a bounded number of steps and seconds."""
        steps = self.abs_max_v / self.ramp_step_v
        if steps > MAX_RAMP_STEPS:
            raise ValueError(
                f"ramp_step_v {self.ramp_step_v:g} V would take {steps:,.0f} steps to reach abs_max_v "
                f"{self.abs_max_v:g} V (at most {MAX_RAMP_STEPS}) — use ramp_step_v >= "
                f"{self.abs_max_v / MAX_RAMP_STEPS:.3g}"
            )
        seconds = self.abs_max_v / self.ramp_rate_v_per_s
        if seconds > MAX_RAMP_S:
            raise ValueError(
                f"ramp_rate_v_per_s {self.ramp_rate_v_per_s:g} would take {seconds:,.0f} s to reach "
                f"abs_max_v {self.abs_max_v:g} V, and an abort waits for a ramp step (at most "
                f"{MAX_RAMP_S:g} s) — use ramp_rate_v_per_s >= {self.abs_max_v / MAX_RAMP_S:.3g}"
            )
        return self


class ClockSpec(_Strict):
    source: str
    frequency_hz: float = Field(gt=0, le=MAX_CLOCK_HZ)
    amplitude_vpp: float = Field(ge=MIN_VPP, le=MAX_VPP)


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


class ForcerSpec(_Strict):
    """Where the thermal forcer parks at the end of every run and on estop, and its air limits."""

    # Within the forcer's range: it refuses limits outside it, at the run's first set point.
    park_c: float = Field(25.0, ge=MIN_CELSIUS, le=MAX_CELSIUS)
    park_flow_off: bool = True
    park_head_up: bool = True
    low_c: float = Field(-60.0, ge=MIN_CELSIUS, le=MAX_CELSIUS)
    high_c: float = Field(150.0, ge=MIN_CELSIUS, le=MAX_CELSIUS)

    @model_validator(mode="after")
    def _limits_in_order(self) -> ForcerSpec:
        if self.low_c >= self.high_c:
            raise ValueError(f"low_c {self.low_c} °C is not below high_c {self.high_c} °C — swap them")
        if not self.low_c <= self.park_c <= self.high_c:
            raise ValueError(f"park_c {self.park_c} °C is outside low_c..high_c — park at ambient")
        return self


class StationSpec(_Strict):
    name: Name
    visa_backend: str = "@py"
    instruments: dict[Name, InstrumentSpec] = Field(max_length=64)
    rails: dict[Name, RailSpec] = Field(min_length=1, max_length=32)
    power_on_order: list[str] = Field(max_length=32)
    clock: ClockSpec | None = None
    forcer: ForcerSpec = ForcerSpec()
    core_rail: str | None = None  # the rail whose volts condition results; default: first powered

    @property
    def core_rail_name(self) -> str:
        return self.core_rail or self.power_on_order[0]

    def instruments_with_role(self, role: str) -> list[str]:
        return [name for name, spec in self.instruments.items() if spec.role == role]


def load_station(path: str | Path) -> StationSpec:
    """Read and validate a station file; raises ConfigErrors with one line per mistake."""
    source = load_located(path, what="station file")
    if not isinstance(source.data, dict):
        raise ConfigErrors([source.error((), "a station file is a mapping", "start with 'name:'")])
    try:
        spec = StationSpec.model_validate(source.data)
    except ValidationError as exc:
        raise errors_from_validation(source, exc, StationSpec) from None
    problems = list(_cross_check(spec, source))
    if problems:
        raise ConfigErrors(problems)
    return spec


def _cross_check(spec: StationSpec, source: LocatedYaml) -> list[ConfigError]:
    """What one field cannot know: references between rails, instruments and the order."""
    errors: list[ConfigError] = []
    supplies = spec.instruments_with_role("power_supply")
    meters = spec.instruments_with_role("multimeter")
    seen_channels: dict[tuple[str, int], str] = {}
    for rail_name, rail in spec.rails.items():
        at = ("rails", rail_name)
        if rail.supply not in supplies:
            errors.append(source.error((*at, "supply"), f"rail {rail_name}: '{rail.supply}' is not a "
                          "power supply of this station", f"use one of: {', '.join(supplies) or '-'}"))
        else:
            limit = SUPPLY_CHANNELS.get(spec.instruments[rail.supply].driver, 1)
            if rail.channel > limit:
                errors.append(source.error((*at, "channel"), f"rail {rail_name}: {rail.supply} has "
                              f"channels 1..{limit}, not {rail.channel}", "pick an existing channel"))
            owner = seen_channels.setdefault((rail.supply, rail.channel), rail_name)
            if owner != rail_name:
                errors.append(source.error((*at, "channel"), f"rail {rail_name}: {rail.supply} channel "
                              f"{rail.channel} already powers {owner}", "give each rail its own channel"))
        if rail.meter is not None and rail.meter not in meters:
            errors.append(source.error((*at, "meter"), f"rail {rail_name}: '{rail.meter}' is not a "
                          "multimeter of this station", f"use one of: {', '.join(meters) or '-'}"))
    errors.extend(_check_order(spec, source))
    if spec.core_rail is not None and spec.core_rail not in spec.rails:
        errors.append(source.error(("core_rail",), f"core_rail '{spec.core_rail}' is not a rail",
                      f"use one of: {', '.join(spec.rails)}"))
    if spec.clock is not None and spec.clock.source not in spec.instruments_with_role("clock_source"):
        errors.append(source.error(("clock", "source"), f"clock source '{spec.clock.source}' is not a "
                      "clock source of this station", "name the waveform generator that drives the clock"))
    return errors


def _check_order(spec: StationSpec, source: LocatedYaml) -> list[ConfigError]:
    errors = []
    order = spec.power_on_order
    for index, rail_name in enumerate(order):
        if rail_name not in spec.rails:
            errors.append(source.error(("power_on_order", index), f"power_on_order names '{rail_name}', "
                          "which is not a rail", f"use the rails: {', '.join(spec.rails)}"))
        elif order.index(rail_name) != index:
            errors.append(source.error(("power_on_order", index), f"power_on_order lists {rail_name} "
                          "twice", "list each rail once"))
    missing = [name for name in spec.rails if name not in order]
    if missing:
        errors.append(source.error(("power_on_order",), f"power_on_order leaves out {', '.join(missing)}",
                      "list every rail, in the order they must come up"))
    return errors


@dataclass
class BoundRail:
    """A rail of the station bound to its live supply channel (and meter, if one senses it)."""

    name: str
    spec: RailSpec
    supply: PowerSupply
    channel: PowerChannel
    meter: Multimeter | None = None


@dataclass
class Station:
    """The opened bench: live drivers by name and rails bound to their channels."""

    spec: StationSpec
    instruments: dict[str, Any] = field(default_factory=dict)
    rails: dict[str, BoundRail] = field(default_factory=dict)

    @classmethod
    def open(cls, spec: StationSpec) -> Station:
        """Open every instrument and bind the rails; on any failure close what opened and raise."""
        station = cls(spec)
        try:
            for name in spec.instruments:
                station._open_one(name)
            station._bind_rails()
        except BaseException:
            station.close()
            raise
        return station

    @classmethod
    def open_each(cls, spec: StationSpec) -> tuple[Station, dict[str, Exception]]:
        """Open what can be opened and report the rest: for checking a bench, not for running it."""
        station = cls(spec)
        failures: dict[str, Exception] = {}
        for name in spec.instruments:
            try:
                station._open_one(name)
            except Exception as exc:
                failures[name] = exc
        station._bind_rails()
        return station, failures

    def _open_one(self, name: str) -> None:
        from instruments.registry import open_driver

        inst = self.spec.instruments[name]
        options = _open_options(self.spec, inst)
        self.instruments[name] = open_driver(inst.driver, inst.address, name=name, **options)

    def _bind_rails(self) -> None:
        for name, rail in self.spec.rails.items():
            supply = self.instruments.get(rail.supply)
            if supply is None:
                continue
            meter = self.instruments.get(rail.meter) if rail.meter else None
            self.rails[name] = BoundRail(name, rail, supply, supply.channel(rail.channel), meter)

    def of_role(self, role: str) -> list[Any]:
        return [self.instruments[n] for n in self.spec.instruments_with_role(role) if n in self.instruments]

    @property
    def console(self) -> Any | None:
        consoles = self.of_role("console")
        return consoles[0] if consoles else None

    def close(self) -> None:
        for driver in self.instruments.values():
            try:
                driver.close()
            except Exception:  # closing is best effort; the port may already be gone
                pass
        self.instruments.clear()
        self.rails.clear()

    def __enter__(self) -> Station:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_options(spec: StationSpec, inst: InstrumentSpec) -> dict[str, Any]:
    if inst.driver == "serial_console":
        return {"baudrate": inst.baudrate}
    return {"backend": spec.visa_backend, "timeout_s": inst.timeout_s}
