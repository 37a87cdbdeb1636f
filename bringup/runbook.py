"""The runbook file: an ordered list of steps, validated completely before any instrument is touched.

    name: smoke
    steps:
      - step: power_on
      - step: measure
        name: core voltage
        rail: VDD_CORE
        quantity: voltage
        low: 0.78
        high: 0.82
      - step: run_vectors
        suite: directed
        on_fail: continue

Checks against the station (a rail it lacks, a voltage above a rail's absolute maximum, a
limit with low > high, a suite that is not there) happen here too, so a bad runbook fails in
a second with `file:line: what — fix`, not at 3 a.m. half-way through a run.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bringup.station import MAX_CELSIUS, MIN_CELSIUS, StationSpec
from bringup.yamlfile import (
    ConfigError,
    ConfigErrors,
    LocatedYaml,
    errors_from_validation,
    load_located,
    parse_located,
)

OnFail = Literal["stop", "continue"]

# Physical bounds of a runbook; docs/formats.md gives the reason for each.
MAX_STEPS = 100_000  # steps of one runbook; a 10,000-step runbook loads in a fraction of a second
MAX_VOLTS = 60.0  # the station's abs_max_v (at most 60 V) is the real limit, checked against it
MAX_READING = 1e6  # measure limits: volts, amps and degrees are far below a million
MAX_WAIT_S = 86_400.0  # a day; a longer wait is a typo (split it if it is not)
MAX_CONSOLE_TIMEOUT_S = 3_600.0
MAX_CORE_MHZ = 10_000.0  # no core clock is set above 10 GHz
MAX_THERMAL_S = 86_400.0
MAX_REPEAT = 10_000
MAX_RANDOM_COUNT = 10_000
MAX_RANDOM_LENGTH = 1_000  # cases of one random program; 1,000 fill most of the chip's 64 KiB RAM
MAX_RETRIES = 10
DEFAULT_RETRIES = 1  # a garbled reply from the chip is retried once (after a reset) by default
MAX_TEXT = 1_000  # a pattern or a line sent to the console


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=MAX_TEXT)

    name: str | None = Field(None, max_length=200)
    on_fail: OnFail = "stop"

    @property
    def title(self) -> str:
        """How the step is named in progress, records and the TUI: its name, else its kind."""
        return self.name or self.step  # type: ignore[attr-defined]


class PowerOn(_Step):
    step: Literal["power_on"]
    rails: list[str] | None = None  # default: every rail, in the station's order


class PowerOff(_Step):
    step: Literal["power_off"]


class SetRail(_Step):
    step: Literal["set_rail"]
    rail: str
    volts: float = Field(gt=0, le=MAX_VOLTS)


class Measure(_Step):
    step: Literal["measure"]
    quantity: Literal["voltage", "current", "die_temperature"]
    rail: str | None = None
    source: Literal["supply", "meter"] = "supply"
    low: float | None = Field(None, ge=-MAX_READING, le=MAX_READING)
    high: float | None = Field(None, ge=-MAX_READING, le=MAX_READING)
    units: str | None = Field(None, max_length=20)

    @field_validator("high")
    @classmethod
    def _high_not_below_low(cls, high: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("low")
        if low is not None and high is not None and low > high:
            raise ValueError(f"low {low} is above high {high} — swap them")
        return high

    @model_validator(mode="after")
    def _sane(self) -> Measure:
        if self.quantity != "die_temperature" and self.rail is None:
            raise ValueError(f"measuring {self.quantity} needs a rail — add rail: <a rail of the station>")
        return self

    @property
    def unit(self) -> str:
        return self.units or {"voltage": "V", "current": "A", "die_temperature": "C"}[self.quantity]


class ConsoleExpect(_Step):
    step: Literal["console_expect"]
    pattern: str = Field(min_length=1, max_length=MAX_TEXT)
    send: str | None = Field(None, max_length=MAX_TEXT)
    timeout_s: float = Field(10.0, gt=0, le=MAX_CONSOLE_TIMEOUT_S)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise ValueError(f"pattern {pattern[:60]!r} is not a regular expression ({exc}) — "
                             r"escape special characters such as ( [ * with a backslash") from None
        return pattern


class Wait(_Step):
    step: Literal["wait"]
    seconds: float = Field(ge=0, le=MAX_WAIT_S)


class SetClock(_Step):
    step: Literal["set_clock"]
    mhz: float = Field(gt=0, le=MAX_CORE_MHZ)


class SetTemperature(_Step):
    step: Literal["set_temperature"]
    celsius: float = Field(ge=MIN_CELSIUS, le=MAX_CELSIUS)
    window_c: float = Field(1.0, gt=0, le=50.0)
    soak_s: float = Field(30.0, ge=0, le=MAX_THERMAL_S)
    timeout_s: float = Field(900.0, gt=0, le=MAX_THERMAL_S)


class RunVectors(_Step):
    step: Literal["run_vectors"]
    suite: str = Field(min_length=1, max_length=200)
    clock_mhz: float | None = Field(None, gt=0, le=MAX_CORE_MHZ)
    repeat: int = Field(1, ge=1, le=MAX_REPEAT)
    # for `suite: random`: `count` programs of `length` checked operations, drawn from `seed`
    seed: int = Field(1, ge=0, le=2**63 - 1)
    count: int = Field(20, ge=1, le=MAX_RANDOM_COUNT)
    length: int = Field(50, ge=1, le=MAX_RANDOM_LENGTH)
    # a garbled or truncated reply from the chip: reset it and run the vector again this often
    retries: int = Field(DEFAULT_RETRIES, ge=0, le=MAX_RETRIES)


class Checkpoint(_Step):
    step: Literal["checkpoint"]


class SweepRange(BaseModel):
    """`start` to `stop` inclusive in steps of `step` (volts or MHz)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    start: float = Field(gt=0)
    stop: float = Field(gt=0)
    step: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> SweepRange:
        if self.stop < self.start:
            raise ValueError(f"stop {self.stop} is below start {self.start} — swap them")
        # Counted before any list is built: a hostile step (1e-300) must not cost memory or time.
        if self._count() > MAX_SWEEP_POINTS:
            raise ValueError(f"more than {MAX_SWEEP_POINTS} points — use a coarser step")
        return self

    def values(self) -> list[float]:
        return [round(self.start + i * self.step, 6) for i in range(self._count())]

    def _count(self) -> float:
        steps = (self.stop - self.start) / self.step
        return int(steps + 1e-6) + 1 if math.isfinite(steps) else math.inf


MAX_SWEEP_POINTS = 2000
MAX_SWEEP_TEMPERATURES = 32
Celsius = Annotated[float, Field(ge=MIN_CELSIUS, le=MAX_CELSIUS)]
CoreMhz = Annotated[float, Field(gt=0, le=MAX_CORE_MHZ)]


class _Sweep(_Step):
    """What shmoo and vmin share: the rail swept, the suite run at each point, temperatures."""

    rail: str | None = None  # default: the station's core rail
    volts: SweepRange
    # empty: the forcer is left alone
    temperatures_c: list[Celsius] = Field(default_factory=list, max_length=MAX_SWEEP_TEMPERATURES)
    suite: str = Field("random", min_length=1, max_length=200)
    # the same bounds as run_vectors: a sweep runs its suite at every point
    seed: int = Field(1, ge=0, le=2**63 - 1)
    count: int = Field(2, ge=1, le=MAX_RANDOM_COUNT)
    length: int = Field(30, ge=1, le=MAX_RANDOM_LENGTH)
    # a run silent this long (plus its budget) hung
    hang_timeout_s: float = Field(2.0, gt=0, le=MAX_CONSOLE_TIMEOUT_S)
    window_c: float = Field(1.0, gt=0, le=50.0)
    soak_s: float = Field(30.0, ge=0, le=MAX_THERMAL_S)
    settle_timeout_s: float = Field(900.0, gt=0, le=MAX_THERMAL_S)
    die_tolerance_c: float = Field(15.0, gt=0, le=100.0)  # die vs set point, self-heating included


class Shmoo(_Sweep):
    step: Literal["shmoo"]
    mhz: SweepRange
    method: Literal["grid", "adaptive"] = "adaptive"
    repeats: int = Field(2, ge=1, le=8)  # executions that confirm each boundary point
    probes: int = Field(3, ge=0, le=8)  # points probed above the boundary for holes

    @field_validator("mhz")
    @classmethod
    def _clock_in_range(cls, mhz: SweepRange) -> SweepRange:
        if mhz.stop > MAX_CORE_MHZ:
            raise ValueError(f"stop {mhz.stop} is above {MAX_CORE_MHZ:.0f} MHz — no core clock goes there")
        return mhz


class Vmin(_Sweep):
    step: Literal["vmin"]
    mhz: list[CoreMhz] = Field(min_length=1, max_length=MAX_SWEEP_POINTS)
    repeats: int = Field(3, ge=1, le=8)  # pass criterion: every repeat passes
    guard_band_v: float = Field(0.0, ge=0, le=MAX_VOLTS)
    max_vmin_v: float | None = Field(None, gt=0, le=MAX_VOLTS)  # the chip fails the step if Vmin is above


Step = Annotated[
    PowerOn | PowerOff | SetRail | Measure | ConsoleExpect | Wait | SetClock | SetTemperature
    | RunVectors | Checkpoint | Shmoo | Vmin,
    Field(discriminator="step"),
]
STEP_KINDS = ("power_on", "power_off", "set_rail", "measure", "console_expect", "wait", "set_clock",
              "set_temperature", "run_vectors", "checkpoint", "shmoo", "vmin")


class Runbook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)


class LoadedRunbook:
    """A validated runbook with its source text (recorded with each run) and content hash."""

    def __init__(self, path: Path, text: str, model: Runbook, source: LocatedYaml | None = None) -> None:
        self.path = path
        self.text = text
        self.model = model
        self.source = source  # the parsed file, for the line of a later error (suites, say)
        self.content_hash = hashlib.sha256(text.encode()).hexdigest()

    def line_of(self, location: tuple[str | int, ...]) -> int | None:
        """The line in the runbook of `location` (e.g. ("steps", 3, "suite")), when known."""
        return self.source.line_of(location) if self.source is not None else None

    @classmethod
    def from_steps(cls, name: str, steps: list[Step], description: str = "") -> LoadedRunbook:
        """A runbook built in code; its text (recorded with the run) is the equivalent YAML."""
        import yaml

        model = Runbook(name=name, description=description, steps=steps)
        text = yaml.safe_dump(model.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
        return cls(Path(f"<{name}>"), text, Runbook.model_validate(yaml.safe_load(text)))

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def steps(self) -> list[Step]:
        return list(self.model.steps)


def load_runbook(
    path: str | Path, station: StationSpec | None = None, *, suites: set[str] | None = None
) -> LoadedRunbook:
    """Validate a runbook, and against `station` and the known `suites` when given."""
    return _validate(load_located(path, what="runbook"), station, suites)


def parse_runbook(
    text: str, label: str, station: StationSpec | None = None, *, suites: set[str] | None = None
) -> LoadedRunbook:
    """Validate runbook `text` kept elsewhere (a run's record); `label` stands for the file name."""
    return _validate(parse_located(text, label), station, suites)


def _validate(source: LocatedYaml, station: StationSpec | None, suites: set[str] | None) -> LoadedRunbook:
    if not isinstance(source.data, dict):
        raise ConfigErrors([source.error((), "a runbook is a mapping", "start with 'name:' and 'steps:'")])
    _check_step_kinds(source)
    try:
        model = Runbook.model_validate(source.data)
    except ValidationError as exc:
        raise errors_from_validation(source, exc, Runbook) from None
    problems = _against_station(model, source, station) if station else []
    if suites is not None:
        problems += _against_suites(model, source, suites)
    if problems:
        raise ConfigErrors(problems)
    return LoadedRunbook(source.path, source.text, model, source)


def _check_step_kinds(source: LocatedYaml) -> None:
    """Unknown step kinds first, in our words: pydantic's tagged-union message is hard to read."""
    errors = []
    steps = source.data.get("steps")
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            errors.append(source.error(("steps", index), f"step {index + 1} must be a mapping",
                                       "write it as '- step: <kind>' followed by its keys"))
        elif "step" not in step:
            errors.append(source.error(("steps", index), f"step {index + 1} does not say its kind",
                                       f"add 'step:' with one of: {', '.join(STEP_KINDS)}"))
        elif step["step"] not in STEP_KINDS:
            errors.append(source.error(("steps", index, "step"), f"unknown step '{str(step['step'])[:40]}'",
                                       f"use one of: {', '.join(STEP_KINDS)}"))
    if errors:
        raise ConfigErrors(errors)


def _against_station(model: Runbook, source: LocatedYaml, station: StationSpec) -> list[ConfigError]:
    errors = _power_sequence(model, source, station)
    for index, step in enumerate(model.steps):
        at = ("steps", index)
        rails = [step.rail] if isinstance(step, SetRail | Measure) and step.rail else []
        if isinstance(step, PowerOn) and step.rails:
            rails = step.rails
        for rail in rails:
            if rail not in station.rails:
                errors.append(source.error((*at, "rail"), f"rail '{rail}' is not on station {station.name}",
                                           f"use one of: {', '.join(station.rails)}"))
        if isinstance(step, SetRail) and step.rail in station.rails:
            limit = station.rails[step.rail].abs_max_v
            if step.volts > limit:
                errors.append(source.error((*at, "volts"), f"{step.volts} V is above {step.rail}'s absolute "
                              f"maximum of {limit} V", "lower it; only the station file sets maximums"))
        if isinstance(step, Measure) and step.source == "meter" and step.rail in station.rails \
                and station.rails[step.rail].meter is None:
            errors.append(source.error((*at, "source"), f"no meter senses {step.rail} on station "
                          f"{station.name}", "use source: supply, or wire a meter to the rail"))
        if isinstance(step, SetClock | SetTemperature | ConsoleExpect):
            errors.extend(_needs_instrument(step, at, source, station))
        errors.extend(_sweep_against_station(step, at, source, station))
        errors.extend(_temperatures_against_forcer(step, at, source, station))
    return errors


def _temperatures_against_forcer(step: _Step, at: tuple, source: LocatedYaml,
                                 station: StationSpec) -> list[ConfigError]:
    """Set points stay within the air limits the station programs into its forcer (which would
    refuse them mid-run, hours in)."""
    if isinstance(step, SetTemperature):
        wanted = [((*at, "celsius"), step.celsius)]
    elif isinstance(step, Shmoo | Vmin):
        wanted = [((*at, "temperatures_c", i), t) for i, t in enumerate(step.temperatures_c)]
    else:
        return []
    low, high = station.forcer.low_c, station.forcer.high_c
    return [source.error(where, f"{celsius} °C is outside the forcer's limits of {low}..{high} °C on "
                         f"station {station.name}", "stay within them; only the station file (forcer: "
                         "low_c, high_c) sets them")
            for where, celsius in wanted if not low <= celsius <= high]


def _power_sequence(model: Runbook, source: LocatedYaml, station: StationSpec) -> list[ConfigError]:
    """Follow which rails are up step by step: a rail never comes up before the rails the station
    puts before it, and set_rail only touches a powered rail."""
    order = station.power_on_order
    powered: set[str] = set()
    errors = []
    for index, step in enumerate(model.steps):
        if isinstance(step, PowerOn):
            wanted = set(step.rails or order)
            for position, rail in enumerate(order):
                missing = [r for r in order[:position] if r not in wanted | powered]
                if rail in wanted and missing:
                    errors.append(source.error(("steps", index, "rails"), f"{rail} would come up before "
                                  f"{', '.join(missing)}; station {station.name} powers "
                                  f"{' -> '.join(order)}", f"power {', '.join(missing)} on first"))
                    break
            powered |= wanted
        elif isinstance(step, PowerOff):
            powered.clear()
        elif isinstance(step, SetRail) and step.rail in station.rails and step.rail not in powered:
            errors.append(source.error(("steps", index, "rail"), f"set_rail {step.rail} before it is "
                          "powered", "add a power_on step before it"))
    return errors


def _needs_instrument(step: _Step, at: tuple, source: LocatedYaml, station: StationSpec) -> list[ConfigError]:
    role = {"set_clock": "console", "set_temperature": "thermal_forcer", "console_expect": "console"}
    wanted = role[step.step]  # type: ignore[attr-defined]
    if station.instruments_with_role(wanted):
        return []
    label = wanted.replace("_", " ")
    return [source.error((*at, "step"), f"{step.step} needs a {label}, and station {station.name} "  # type: ignore[attr-defined]
                         f"has none", f"add a {label} to the station file or remove this step")]


def _against_suites(model: Runbook, source: LocatedYaml, suites: set[str]) -> list[ConfigError]:
    return [
        source.error(("steps", index, "suite"), f"no vector suite '{step.suite}'",
                     f"use one of: {', '.join(sorted(suites)) or '(none found)'}; or add the folder "
                     "that holds it with --vectors")
        for index, step in enumerate(model.steps)
        if isinstance(step, RunVectors | Shmoo | Vmin) and step.suite not in suites
    ]


def _sweep_against_station(step: _Step, at: tuple, source: LocatedYaml,
                           station: StationSpec) -> list[ConfigError]:
    """A sweep stays within the rail's absolute maximum and the floor (min_v) the station states."""
    if not isinstance(step, Shmoo | Vmin):
        return []
    name = step.rail or station.core_rail_name
    rail = station.rails.get(name)
    if rail is None:
        return [source.error((*at, "rail"), f"rail '{name}' is not on station {station.name}",
                             f"use one of: {', '.join(station.rails)}")]
    errors = []
    if step.volts.stop > rail.abs_max_v:
        errors.append(source.error((*at, "volts", "stop"), f"{step.volts.stop} V is above {name}'s absolute "
                      f"maximum of {rail.abs_max_v} V", "lower it; only the station file sets maximums"))
    if rail.min_v is not None and step.volts.start < rail.min_v:
        errors.append(source.error((*at, "volts", "start"), f"{step.volts.start} V is below {name}'s floor "
                      f"of {rail.min_v} V (min_v in the station file)", f"start at {rail.min_v} V or above"))
    if not station.instruments_with_role("console"):
        errors.append(source.error((*at, "step"), f"{step.step} runs vectors on the chip, and station "
                      f"{station.name} has no console", "add the chip's UART to the station file"))
    if step.temperatures_c and not station.instruments_with_role("thermal_forcer"):
        errors.append(source.error((*at, "temperatures_c"), "temperatures need a thermal forcer, and "
                      f"station {station.name} has none", "add one to the station or drop temperatures_c"))
    return errors
