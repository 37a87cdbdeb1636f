"""History queries over runs recorded through the real recorder."""

from __future__ import annotations

import time

import pytest

from bringup.db.queries import (
    OutcomeChange,
    diff_runs,
    failing_vectors,
    list_runs,
    run_summary,
    vmin_by_chip,
)
from bringup.db.recorder import Recorder
from bringup.events import (
    Conditions,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    VectorResult,
    new_run_id,
)

SWEEP_V = (0.70, 0.75, 0.80, 0.85)


def start(recorder: Recorder, chip: str, lot: str, ts: float) -> str:
    run_id = new_run_id()
    recorder.handle(
        RunStarted(
            run_id=run_id,
            ts=ts,
            chip_serial=chip,
            station_name="bench-1",
            runbook_name="shmoo",
            runbook_hash="f" * 64,
            lot=lot,
            wafer=3,
            die_x=len(chip),
            die_y=1,
        )
    )
    recorder.handle(StepStarted(run_id=run_id, ts=ts, index=0, name="shmoo", kind="sweep"))
    return run_id


def vector(run_id: str, vdd: float, temp: float, passed: bool, repeat: int) -> VectorResult:
    return VectorResult(
        run_id=run_id,
        step_index=0,
        vector_name="alu",
        content_hash="a" * 64,
        repeat=repeat,
        passed=passed,
        expected=(1,),
        actual=(1,) if passed else (5,),
        first_mismatch_addr=None if passed else 0x100,
        flipped_bits=0 if passed else 4,
        conditions=Conditions(vdd_core_v=vdd, core_mhz=400.0, temperature_c=temp),
    )


def shmoo(recorder: Recorder, run_id: str, temp: float, passes_at: dict[float, bool]) -> None:
    # Each point of a sweep is one more execution (repeat) of the vector within the step.
    first = 0 if temp == 25.0 else len(SWEEP_V)
    for repeat, (vdd, passed) in enumerate(passes_at.items(), start=first):
        recorder.handle(vector(run_id, vdd, temp, passed, repeat))


def finish(recorder: Recorder, run_id: str, status: RunStatus, ts: float) -> None:
    step_status = StepStatus.PASSED if status is RunStatus.PASSED else StepStatus.FAILED
    recorder.handle(StepFinished(run_id=run_id, ts=ts, index=0, status=step_status))
    recorder.handle(RunFinished(run_id=run_id, ts=ts, status=status))


@pytest.fixture
def history(engine):
    """Lot L1: chips A (Vmin 0.75 V at 25 C, 0.80 V at 85 C) and B (0.80 V, with a lucky pass
    at 0.70 V); lot L2: chip C. Chip A ran twice; its second run got worse at 25 C."""
    t0 = time.time() - 3600
    runs = {}
    with Recorder(engine) as rec:
        runs["A1"] = start(rec, "A", "L1", t0)
        shmoo(rec, runs["A1"], 25.0, {0.70: False, 0.75: True, 0.80: True, 0.85: True})
        shmoo(rec, runs["A1"], 85.0, {0.70: False, 0.75: False, 0.80: True, 0.85: True})
        rec.measurement("idd", 0.10, "A", 0.0, 0.2, core_mhz=400.0, temperature_c=25.0)
        rec.measurement("leakage", 0.01, "A", core_mhz=400.0, temperature_c=25.0)
        finish(rec, runs["A1"], RunStatus.FAILED, t0 + 60)

        runs["B1"] = start(rec, "B", "L1", t0 + 100)
        shmoo(rec, runs["B1"], 25.0, {0.70: True, 0.75: False, 0.80: True, 0.85: True})
        finish(rec, runs["B1"], RunStatus.FAILED, t0 + 160)

        runs["C1"] = start(rec, "C", "L2", t0 + 200)
        shmoo(rec, runs["C1"], 25.0, {0.70: False, 0.75: True})
        finish(rec, runs["C1"], RunStatus.FAILED, t0 + 260)

        runs["A2"] = start(rec, "A", "L1", t0 + 300)
        shmoo(rec, runs["A2"], 25.0, {0.70: False, 0.75: False, 0.80: True, 0.85: True})
        rec.measurement("idd", 0.30, "A", 0.0, 0.2, core_mhz=400.0, temperature_c=25.0)
        finish(rec, runs["A2"], RunStatus.PASSED, t0 + 360)
    return t0, runs


def test_list_runs_newest_first_and_filtered(engine, history):
    t0, runs = history

    assert [r.id for r in list_runs(engine)] == [runs[k] for k in ("A2", "C1", "B1", "A1")]
    assert [r.id for r in list_runs(engine, chip="A")] == [runs["A2"], runs["A1"]]
    assert [r.id for r in list_runs(engine, status="passed")] == [runs["A2"]]
    assert [r.id for r in list_runs(engine, since=t0 + 150)] == [runs["A2"], runs["C1"]]
    newest = list_runs(engine, limit=1)[0]
    assert (newest.chip_serial, newest.lot, newest.station, newest.runbook) == ("A", "L1", "bench-1", "shmoo")


def test_run_summary_counts_results_and_lists_steps(engine, history):
    _, runs = history

    summary = run_summary(engine, runs["A1"])

    assert summary is not None
    assert [(s.index, s.name, s.status) for s in summary.steps] == [(0, "shmoo", "failed")]
    assert (summary.vectors_passed, summary.vectors_failed) == (5, 3)
    assert (summary.measurements_passed, summary.measurements_failed) == (1, 0)
    assert summary.measurements_unlimited == 1
    assert run_summary(engine, "no-such-run") is None


def test_failing_vectors_by_chip_and_corner(engine, history):
    failures = failing_vectors(engine, lot="L1")

    as_tuples = {
        (f.chip_serial, f.vector_name, f.temperature_c, f.vdd_core_v, f.failures, f.runs) for f in failures
    }
    assert as_tuples == {
        ("A", "alu", 25.0, 0.70, 2, 2),  # failed in both of A's runs
        ("A", "alu", 25.0, 0.75, 1, 1),
        ("A", "alu", 85.0, 0.70, 1, 1),
        ("A", "alu", 85.0, 0.75, 1, 1),
        ("B", "alu", 25.0, 0.75, 1, 1),
    }
    assert failures[0].failures == 2  # most failures first
    assert {f.chip_serial for f in failing_vectors(engine, chip="C")} == {"C"}


def test_vmin_per_chip_ignores_a_lucky_pass_below_a_failure(engine, history):
    points = vmin_by_chip(engine, "L1")

    assert [(p.chip_serial, p.temperature_c, p.vmin_v) for p in points] == [
        ("A", 25.0, 0.80),  # both runs pooled: the second failed at 0.75 V
        ("A", 85.0, 0.80),
        ("B", 25.0, 0.80),
    ]
    assert (points[0].wafer, points[0].die_x) == (3, 1)
    assert vmin_by_chip(engine, "no-such-lot") == []


def test_diff_of_two_runs_lists_only_changed_outcomes(engine, history):
    _, runs = history

    changes = diff_runs(engine, runs["A1"], runs["A2"])

    assert changes == [
        OutcomeChange("measurement", "idd", None, 400.0, 25.0, "pass", "fail", 0.10, 0.30),
        OutcomeChange("measurement", "leakage", None, 400.0, 25.0, "recorded", "absent", 0.01, None),
        OutcomeChange("vector", "alu", 0.75, 400.0, 25.0, "pass", "fail"),
        OutcomeChange("vector", "alu", 0.70, 400.0, 85.0, "fail", "absent"),
        OutcomeChange("vector", "alu", 0.75, 400.0, 85.0, "fail", "absent"),
        OutcomeChange("vector", "alu", 0.80, 400.0, 85.0, "pass", "absent"),
        OutcomeChange("vector", "alu", 0.85, 400.0, 85.0, "pass", "absent"),
    ]
