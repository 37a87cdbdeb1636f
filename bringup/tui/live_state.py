"""What the live screen shows, gathered from run events on the bus's thread.

Events arrive on a bus delivery thread, hundreds per second during vectors. Redrawing per event
would swamp the UI thread, so this watcher only folds each event into plain state under a lock
(microseconds), and the screen takes a `snapshot()` on its own clock, at most ~10 times a
second, redrawing only when something changed.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

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
    VectorResult,
)

RAIL_HISTORY = 40  # samples per rail kept for the sparkline
FAILURES_KEPT = 8  # the last failing vectors and measurements shown; the database has them all


@dataclass(frozen=True)
class StepRow:
    index: int
    name: str
    status: str = "pending"
    message: str = ""


@dataclass(frozen=True)
class RailReading:
    volts: float
    amps: float
    amps_history: tuple[float, ...]


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


@dataclass(frozen=True)
class LiveSnapshot:
    """A consistent copy of the run's state; `new_lines` are console/log lines since the last one."""

    version: int
    run_id: str
    runbook: str
    chip: str
    status: str
    reason: str
    current_step: str
    current_message: str
    steps: tuple[StepRow, ...]
    rails: dict[str, RailReading]
    vectors_passed: int
    vectors_failed: int
    vector_failures: tuple[VectorFailure, ...]
    limit_failures: tuple[LimitFailure, ...]
    new_lines: tuple[tuple[str, str], ...]  # (source, text): source is "rx", "tx" or a log level
    dropped: int

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
    status: str = ""
    reason: str = ""
    current_step: str = ""
    current_message: str = ""
    steps: dict[int, StepRow] = field(default_factory=dict)
    volts: dict[str, float] = field(default_factory=dict)
    amps: dict[str, deque[float]] = field(default_factory=dict)
    vectors_passed: int = 0
    vectors_failed: int = 0
    vector_failures: deque[VectorFailure] = field(default_factory=lambda: deque(maxlen=FAILURES_KEPT))
    limit_failures: deque[LimitFailure] = field(default_factory=lambda: deque(maxlen=FAILURES_KEPT))
    new_lines: list[tuple[str, str]] = field(default_factory=list)
    dropped: int = 0


class LiveRun:
    """A bus watcher (call it with each event) whose state the UI reads with `snapshot()`."""

    __name__ = "tui"  # the bus names the subscriber's thread after it

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _State()
        self._version = 0
        self._taken = -1

    def __call__(self, event: Any) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is None:
            return
        with self._lock:
            handler(self._state, event)
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
            return LiveSnapshot(
                version=self._version, run_id=s.run_id, runbook=s.runbook, chip=s.chip, status=s.status,
                reason=s.reason, current_step=s.current_step, current_message=s.current_message,
                steps=tuple(s.steps[i] for i in sorted(s.steps)),
                rails={name: RailReading(s.volts[name], history[-1], tuple(history))
                       for name, history in s.amps.items()},
                vectors_passed=s.vectors_passed, vectors_failed=s.vectors_failed,
                vector_failures=tuple(s.vector_failures), limit_failures=tuple(s.limit_failures),
                new_lines=lines, dropped=s.dropped,
            )

    # Handlers run under the lock on the bus thread: keep them to a few assignments.
    @staticmethod
    def _on_RunStarted(s: _State, event: RunStarted) -> None:
        s.run_id, s.runbook, s.chip, s.status = event.run_id, event.runbook_name, event.chip_serial, "running"
        s.steps = {i: StepRow(i, name) for i, name in enumerate(_step_titles(event.runbook_text))}

    @staticmethod
    def _on_StepStarted(s: _State, event: StepStarted) -> None:
        s.steps[event.index] = StepRow(event.index, event.name, "running")
        s.current_step, s.current_message = f"{event.index + 1}. {event.name}", ""

    @staticmethod
    def _on_StepFinished(s: _State, event: StepFinished) -> None:
        row = s.steps.get(event.index) or StepRow(event.index, f"step {event.index + 1}")
        s.steps[event.index] = replace(row, status=str(event.status), message=event.message)
        s.current_message = f"{event.status}: {event.message}" if event.message else str(event.status)

    @staticmethod
    def _on_RailSample(s: _State, event: RailSample) -> None:
        s.volts[event.rail] = event.volts
        s.amps.setdefault(event.rail, deque(maxlen=RAIL_HISTORY)).append(event.amps)

    @staticmethod
    def _on_VectorResult(s: _State, event: VectorResult) -> None:
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
        s.status, s.reason = str(event.status), event.reason


def _step_titles(runbook_text: str) -> list[str]:
    """The runbook's step titles, so pending steps show from the start."""
    from pydantic import ValidationError

    from bringup.runbook import Runbook

    try:
        model = Runbook.model_validate(yaml.safe_load(runbook_text))
    except (yaml.YAMLError, ValidationError):
        return []  # the run validated it already; without titles steps appear as they start
    return [step.title for step in model.steps]
