"""What the live screen shows, gathered from run events on the bus's thread.

Events arrive on a bus delivery thread, hundreds per second during vectors. Redrawing per event
would swamp the UI thread, so this watcher only folds each event into plain state under a lock
(microseconds), and the screen takes a `snapshot()` on its own clock, at most ~10 times a
second, redrawing only when something changed. The same watcher serves a run followed through
the database (attach): the follower turns rows back into these events.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bringup.events import (
    ConsoleLine,
    Dropped,
    Log,
    Measurement,
    RailSample,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    SweepPoint,
    ThermalSample,
    VectorResult,
)
from bringup.tui.shape import StepShape, eta_seconds, runbook_shape

RAIL_HISTORY = 40  # samples per rail kept for the sparkline
FAILURES_KEPT = 8  # the last failing vectors and measurements shown; the database has them all


@dataclass(frozen=True)
class StepRow:
    index: int
    name: str
    status: str = "pending"
    message: str = ""
    done: int = 0  # vectors run or sweep points decided in this step
    total: int | None = None  # known from the runbook, or from the step's sweep points


@dataclass(frozen=True)
class RailInfo:
    """A rail as the station file describes it: its nominal set point and its hard limits."""

    name: str
    nominal_v: float | None = None
    abs_max_v: float | None = None
    current_limit_a: float | None = None


@dataclass(frozen=True)
class RailReading:
    name: str
    setpoint_v: float | None
    abs_max_v: float | None
    current_limit_a: float | None
    volts: float | None
    amps: float | None
    amps_history: tuple[float, ...]


@dataclass(frozen=True)
class ThermalReading:
    setpoint_c: float | None
    forcer_c: float | None
    die_c: float | None
    at_temperature: bool
    head: str


@dataclass(frozen=True)
class VectorFailure:
    vector_name: str
    vdd_core_v: float | None
    core_mhz: float | None
    temperature_c: float | None
    first_mismatch_addr: int | None
    flipped_bits: int


@dataclass(frozen=True)
class LimitFailure:
    name: str
    value: float
    units: str
    low: float | None
    high: float | None


ShmooMap = dict[float | None, dict[tuple[float, float], str]]  # °C -> (V, MHz) -> outcome


@dataclass(frozen=True)
class LiveSnapshot:
    """A consistent copy of the run's state; `new_lines` are console/log lines since the last one."""

    version: int
    run_id: str
    runbook: str
    chip: str
    station: str
    lot: str | None
    wafer: int | None
    die: tuple[int, int] | None
    status: str
    reason: str
    stage: str  # before RunStarted: what the run is doing (validating, opening the station)
    current_step: str
    current_message: str
    steps: tuple[StepRow, ...]
    rails: tuple[RailReading, ...]  # in the station's power-on order
    thermal: ThermalReading | None
    shmoo: ShmooMap
    vectors_passed: int
    vectors_failed: int
    vector_failures: tuple[VectorFailure, ...]
    limit_failures: tuple[LimitFailure, ...]
    new_lines: tuple[tuple[str, str], ...]  # (source, text): source is "rx", "tx" or a log level
    dropped: int
    elapsed_s: float
    eta_s: float | None

    @property
    def started(self) -> bool:
        return bool(self.run_id)

    @property
    def finished(self) -> bool:
        return self.status not in ("", "running")


@dataclass
class _State:
    run_id: str = ""
    runbook: str = ""
    chip: str = ""
    station: str = ""
    lot: str | None = None
    wafer: int | None = None
    die: tuple[int, int] | None = None
    status: str = ""
    reason: str = ""
    stage: str = ""
    started_ts: float | None = None
    ended_ts: float | None = None
    shape: list[StepShape] = field(default_factory=list)
    current_index: int | None = None
    current_step: str = ""
    current_message: str = ""
    steps: dict[int, StepRow] = field(default_factory=dict)
    setpoints: dict[str, float] = field(default_factory=dict)
    volts: dict[str, float] = field(default_factory=dict)
    amps: dict[str, deque[float]] = field(default_factory=dict)
    thermal: ThermalReading | None = None
    shmoo: dict[float | None, dict[tuple[float, float], str]] = field(default_factory=dict)
    vectors_passed: int = 0
    vectors_failed: int = 0
    vector_failures: deque[VectorFailure] = field(default_factory=lambda: deque(maxlen=FAILURES_KEPT))
    limit_failures: deque[LimitFailure] = field(default_factory=lambda: deque(maxlen=FAILURES_KEPT))
    new_lines: list[tuple[str, str]] = field(default_factory=list)
    dropped: int = 0


class LiveRun:
    """A bus watcher (call it with each event) whose state the UI reads with `snapshot()`.

    `rails` (from the station file) fixes the rails' order and limits; without it rails show in
    the order their first samples came, which is the monitor's order. `clock` gives "now" for
    the elapsed time (tests pass a fixed one).
    """

    __name__ = "tui"  # the bus names the subscriber's thread after it

    def __init__(self, rails: Sequence[RailInfo] = (), *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._state = _State()
        self._rails = {rail.name: rail for rail in rails}
        self._clock = clock
        self._version = 0
        self._taken = -1

    def __call__(self, event: Any) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is None:
            return
        with self._lock:
            handler(self._state, event)
            self._version += 1

    def set_stage(self, text: str) -> None:
        """What the run is doing before its first event (validating, opening the station)."""
        with self._lock:
            self._state.stage = text
            self._version += 1

    def touch(self) -> None:
        """Make the next snapshot come even without events (the elapsed time moves on)."""
        with self._lock:
            self._version += 1

    @property
    def started(self) -> bool:
        """Whether RunStarted arrived: the run validated and opened the bench."""
        with self._lock:
            return bool(self._state.run_id)

    def snapshot(self, *, only_if_changed: bool = True) -> LiveSnapshot | None:
        """The state now, or None when nothing happened since the last snapshot."""
        with self._lock:
            if only_if_changed and self._version == self._taken:
                return None
            self._taken = self._version
            s = self._state
            lines, s.new_lines = tuple(s.new_lines), []
            steps = tuple(s.steps[i] for i in sorted(s.steps))
            elapsed = self._elapsed(s)
            return LiveSnapshot(
                version=self._version, run_id=s.run_id, runbook=s.runbook, chip=s.chip, station=s.station,
                lot=s.lot, wafer=s.wafer, die=s.die, status=s.status, reason=s.reason, stage=s.stage,
                current_step=s.current_step, current_message=s.current_message, steps=steps,
                rails=self._rail_readings(s), thermal=s.thermal,
                shmoo={t: dict(cells) for t, cells in s.shmoo.items()},
                vectors_passed=s.vectors_passed, vectors_failed=s.vectors_failed,
                vector_failures=tuple(s.vector_failures), limit_failures=tuple(s.limit_failures),
                new_lines=lines, dropped=s.dropped, elapsed_s=elapsed,
                eta_s=None if s.status not in ("running",) else self._eta(s, steps, elapsed),
            )

    def _elapsed(self, s: _State) -> float:
        if s.started_ts is None:
            return 0.0
        end = s.ended_ts if s.ended_ts is not None else self._clock()
        return max(0.0, end - s.started_ts)

    @staticmethod
    def _eta(s: _State, steps: tuple[StepRow, ...], elapsed: float) -> float | None:
        finished = {row.index for row in steps if row.status not in ("pending", "running")}
        fraction = 0.0
        current = s.steps.get(s.current_index) if s.current_index is not None else None
        if current is not None and current.total:
            fraction = current.done / current.total
        return eta_seconds(s.shape, finished, s.current_index, fraction, elapsed)

    def _rail_readings(self, s: _State) -> tuple[RailReading, ...]:
        names = list(self._rails) + [name for name in s.amps if name not in self._rails]
        readings = []
        for name in names:
            info = self._rails.get(name, RailInfo(name))
            history = s.amps.get(name, ())
            readings.append(RailReading(
                name, s.setpoints.get(name, info.nominal_v), info.abs_max_v, info.current_limit_a,
                s.volts.get(name), history[-1] if history else None, tuple(history)))
        return tuple(readings)

    # Handlers run under the lock on the bus thread: keep them to a few assignments.
    @staticmethod
    def _on_RunStarted(s: _State, event: RunStarted) -> None:
        s.run_id, s.runbook, s.chip, s.status = event.run_id, event.runbook_name, event.chip_serial, "running"
        s.station, s.lot, s.wafer, s.stage = event.station_name, event.lot, event.wafer, ""
        s.die = (event.die_x, event.die_y) if event.die_x is not None and event.die_y is not None else None
        if s.started_ts is None:  # a resume keeps the first start
            s.started_ts = event.ts
        s.shape = runbook_shape(event.runbook_text)
        for i, step in enumerate(s.shape):
            s.steps.setdefault(i, StepRow(i, step.title, total=step.total))

    @staticmethod
    def _on_StepStarted(s: _State, event: StepStarted) -> None:
        row = s.steps.get(event.index) or StepRow(event.index, event.name)
        s.steps[event.index] = replace(row, name=event.name, status="running", done=0)
        s.current_index = event.index
        s.current_step, s.current_message = f"{event.index + 1}. {event.name}", ""

    @staticmethod
    def _on_StepFinished(s: _State, event: StepFinished) -> None:
        row = s.steps.get(event.index) or StepRow(event.index, f"step {event.index + 1}")
        s.steps[event.index] = replace(row, status=str(event.status), message=event.message)
        s.current_message = f"{event.status}: {event.message}" if event.message else str(event.status)
        shape = s.shape[event.index] if event.index < len(s.shape) else None
        if shape is not None and shape.set_rail is not None and str(event.status) == "passed":
            rail, volts = shape.set_rail
            s.setpoints[rail] = volts

    @staticmethod
    def _on_RailSample(s: _State, event: RailSample) -> None:
        s.volts[event.rail] = event.volts
        s.amps.setdefault(event.rail, deque(maxlen=RAIL_HISTORY)).append(event.amps)

    @staticmethod
    def _on_ThermalSample(s: _State, event: ThermalSample) -> None:
        s.thermal = ThermalReading(event.setpoint_c, event.forcer_c, event.die_c, event.at_temperature,
                                   event.head)

    @staticmethod
    def _on_SweepPoint(s: _State, event: SweepPoint) -> None:
        c = event.conditions
        if c.vdd_core_v is not None and c.core_mhz is not None:
            s.shmoo.setdefault(c.temperature_c, {})[(c.vdd_core_v, c.core_mhz)] = str(event.outcome)
        row = s.steps.get(event.step_index) or StepRow(event.step_index, f"step {event.step_index + 1}")
        s.steps[event.step_index] = replace(row, done=max(row.done, event.done),
                                            total=event.total or row.total)

    @staticmethod
    def _on_VectorResult(s: _State, event: VectorResult) -> None:
        row = s.steps.get(event.step_index)
        if row is not None and not _is_sweep(s, event.step_index):
            s.steps[event.step_index] = replace(row, done=row.done + 1)
        if event.passed:
            s.vectors_passed += 1
            return
        s.vectors_failed += 1
        c = event.conditions
        s.vector_failures.append(VectorFailure(event.vector_name, c.vdd_core_v, c.core_mhz, c.temperature_c,
                                               event.first_mismatch_addr, event.flipped_bits))

    @staticmethod
    def _on_Measurement(s: _State, event: Measurement) -> None:
        if event.passed is False:
            s.limit_failures.append(LimitFailure(event.name, event.value, event.units, event.low, event.high))

    @staticmethod
    def _on_ConsoleLine(s: _State, event: ConsoleLine) -> None:
        s.new_lines.append((event.direction, event.text))

    @staticmethod
    def _on_Log(s: _State, event: Log) -> None:
        s.new_lines.append((event.level, event.text))
        s.current_message = event.text

    @staticmethod
    def _on_Dropped(s: _State, event: Dropped) -> None:
        s.dropped += event.count

    @staticmethod
    def _on_RunFinished(s: _State, event: RunFinished) -> None:
        s.status, s.reason, s.ended_ts = str(event.status), event.reason, event.ts


def _is_sweep(s: _State, index: int) -> bool:
    """A step whose progress is counted in sweep points, not in vectors."""
    shape = s.shape[index] if index < len(s.shape) else None
    return shape is not None and shape.kind != "run_vectors"
