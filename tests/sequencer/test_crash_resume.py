"""A run killed with SIGKILL mid-way is marked interrupted at the next start, and `bringup
resume` completes it: the database then holds each vector result exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from polling import wait_until
from sequencer_bench import Bench
from simlab_state import outputs_on
from sqlalchemy import func, select

from bringup.db.models import Run, Step, VectorResultRow

BRINGUP = shutil.which("bringup", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")

VECTORS = 150
RUNBOOK = f"""
- step: power_on
- step: run_vectors
  name: random vectors
  suite: random
  seed: 11
  count: {VECTORS}
  length: 100
  clock_mhz: 500
- step: measure
  rail: VDD_CORE
  quantity: voltage
  low: 0.78
  high: 0.82
- step: power_off
"""


def _vector_rows(bench: Bench, run_id: str) -> tuple[int, int]:
    with bench.engine().connect() as conn:
        rows = conn.execute(select(VectorResultRow.step_index, VectorResultRow.vector_id, VectorResultRow.repeat)
                            .where(VectorResultRow.run_id == run_id)).all()
    return len(rows), len(set(rows))


def _status(bench: Bench, run_id: str) -> str:
    with bench.engine().connect() as conn:
        return conn.execute(select(Run.status).where(Run.id == run_id)).scalar_one()


def _only_run(bench: Bench) -> str | None:
    with bench.engine().connect() as conn:
        return conn.execute(select(Run.id)).scalar_one_or_none()


def test_kill_9_then_resume_records_every_vector_exactly_once(bench: Bench, tmp_path: Path) -> None:
    env = {**os.environ, "BRINGUP_GOLDEN_CACHE": str(tmp_path / "golden")}
    runbook = bench.runbook(RUNBOOK, name="crashy")
    child = subprocess.Popen(
        [BRINGUP, "run", str(runbook), "--station", str(bench.station), "--chip", "SIM-0001",
         "--db", bench.db_url], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        run_id = wait_until(lambda: _only_run(bench), timeout=60, what="the run to be recorded")
        wait_until(lambda: _vector_rows(bench, run_id)[0] >= 10, timeout=120,
                   what="the first vectors to be recorded")
    finally:
        child.send_signal(signal.SIGKILL)  # no teardown, no flush: a crash
        child.wait(10)
    done_before, _ = _vector_rows(bench, run_id)
    assert done_before < VECTORS, "the run finished before it could be killed"
    # The killed run could not power down; its watchdog did, and said so in the record.
    wait_until(lambda: outputs_on(bench.lab) == [], timeout=30, what="the watchdog's power-down")
    wait_until(lambda: _status(bench, run_id) == "interrupted", timeout=30, what="the watchdog's record")

    resumed = subprocess.run(
        [BRINGUP, "resume", run_id[:8], "--station", str(bench.station), "--db", bench.db_url],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming" in resumed.stdout

    total, distinct = _vector_rows(bench, run_id)
    assert (total, distinct) == (VECTORS, VECTORS)
    with bench.engine().connect() as conn:
        status, resume_count = conn.execute(select(Run.status, Run.resume_count).where(Run.id == run_id)).one()
        steps = conn.execute(select(Step.kind, Step.status).where(Step.run_id == run_id).order_by(Step.index)).all()
        runs = conn.execute(select(func.count()).select_from(Run)).scalar_one()
    assert (status, resume_count, runs) == ("passed", 1, 1)
    assert steps == [("power_on", "passed"), ("run_vectors", "passed"), ("measure", "passed"),
                     ("power_off", "passed")]
    assert outputs_on(bench.lab) == []


def test_only_an_interrupted_run_can_be_resumed(bench: Bench) -> None:
    report = bench.run("- step: power_on\n- step: power_off")
    resumed = subprocess.run(
        [BRINGUP, "resume", report.run_id, "--station", str(bench.station), "--db", bench.db_url],
        capture_output=True, text=True, timeout=60,
    )
    assert resumed.returncode == 2
    assert f"run {report.run_id} is passed, not interrupted" in resumed.stderr
    assert "Traceback" not in resumed.stderr
