"""Runs recorded through the real recorder into a real SQLite file, for the history tests."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from bringup.db.engine import make_engine
from bringup.db.recorder import Recorder
from bringup.events import (
    Conditions,
    Measurement,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    VectorResult,
    new_run_id,
)
from bringup.limits import within


@dataclass
class Result:
    """One step's results: measurements (name, value, units, low, high, conditions), vectors."""

    measurements: Sequence[tuple[str, float, str, float | None, float | None, Conditions]] = ()
    vectors: Sequence[tuple[str, bool, Conditions]] = ()
    status: StepStatus = StepStatus.PASSED


@dataclass
class PlannedRun:
    chip: str
    steps: Sequence[Result]
    runbook: str = "smoke"
    lot: str | None = "L1"
    status: RunStatus = RunStatus.PASSED
    reason: str = ""
    crash_in_step: int | None = None  # record up to this step, "die", then resume and finish
    run_id: str = field(default_factory=new_run_id)


def record(db: str | Engine, *runs: PlannedRun) -> list[str]:
    """Record the runs into a database URL (opened and closed here) or an open engine."""
    engine = make_engine(db) if isinstance(db, str) else db
    try:
        with Recorder(engine) as rec:
            for number, planned in enumerate(runs):
                _record_run(rec, planned, time.time() - 3600 + 100 * number)
    finally:
        if isinstance(db, str):
            engine.dispose()
    return [r.run_id for r in runs]


def _started(planned: PlannedRun, ts: float, resumed: bool) -> RunStarted:
    return RunStarted(run_id=planned.run_id, ts=ts, chip_serial=planned.chip, station_name="bench-1",
                      runbook_name=planned.runbook, runbook_hash=planned.runbook.ljust(64, "0"), lot=planned.lot,
                      wafer=7, die_x=3, die_y=4, resumed=resumed)


def _record_run(rec: Recorder, planned: PlannedRun, ts: float) -> None:
    rid = planned.run_id
    rec.handle(_started(planned, ts, resumed=False))
    for index, step in enumerate(planned.steps):
        if planned.crash_in_step == index:
            _step_results(rec, rid, index, step, ts + index, scale=0.5)  # half-done, then the process died
            rec.handle(_started(planned, ts + 50, resumed=True))
        rec.handle(StepStarted(run_id=rid, ts=ts + index, index=index, name=f"step{index}", kind="measure"))
        _step_results(rec, rid, index, step, ts + index + 0.5)
        rec.handle(StepFinished(run_id=rid, ts=ts + index + 0.9, index=index, status=step.status))
    rec.handle(RunFinished(run_id=rid, ts=ts + 60, status=planned.status, reason=planned.reason))


def _step_results(rec: Recorder, rid: str, index: int, step: Result, ts: float, scale: float = 1.0) -> None:
    for name, value, units, low, high, conditions in step.measurements:
        value = value * scale
        rec.handle(Measurement(run_id=rid, ts=ts, step_index=index, name=name, value=value, units=units,
                               low=low, high=high, passed=within(value, low, high), conditions=conditions))
    for repeat, (name, passed, conditions) in enumerate(step.vectors):
        rec.handle(VectorResult(
            run_id=rid, ts=ts, step_index=index, vector_name=name, content_hash=hashlib.sha256(name.encode()).hexdigest(),
            repeat=repeat, passed=passed, expected=(0x1234, 0xFFFF0000), actual=(0x1234, 0xFFFF0000) if passed
            else (0x1234, 0xFFFF0F01), first_mismatch_addr=None if passed else 0x80001004,
            flipped_bits=0 if passed else 0x0F01, conditions=conditions,
        ))
