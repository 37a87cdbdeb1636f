"""kill -9 in the middle of a shmoo, then `bringup resume`: no recorded point is measured again
and the map is the one an uninterrupted run draws."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from polling import wait_until
from simlab_state import outputs_on
from sqlalchemy import func, select
from sweep_bench import open_bench, shmoo_body

from bringup.db.engine import make_engine
from bringup.db.models import Run, SweepPointRow, VectorResultRow

BRINGUP = shutil.which("bringup", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")

# Above the hang region of SIM-0001 at every clock, so every chip run leaves a vector result.
BODY = shmoo_body("adaptive", "{start: 0.70, stop: 0.85, step: 0.01}", "{start: 400, stop: 1000, step: 50}")


class CountingExecutor:
    """Counts the programs the simulated chip runs: what 'measured twice' would show up in."""

    def __init__(self, inner) -> None:
        self.inner, self.runs = inner, 0

    def __call__(self, *args, **kwargs):
        self.runs += 1
        return self.inner(*args, **kwargs)


def _count(db_url: str, table, run_id: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(table.run_id == run_id)).scalar_one()
    finally:
        engine.dispose()


def _latest_outcomes(bench, run_id: str) -> dict[tuple, str]:
    [sweep] = bench.maps(run_id)
    return {(p.vdd_core_v, p.core_mhz, p.temperature_c): p.outcome for p in sweep.points}


def _only_run(db_url: str) -> str | None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(Run.id)).scalar_one_or_none()
    except Exception:
        return None  # the schema is not there yet
    finally:
        engine.dispose()


def test_kill_9_mid_shmoo_then_resume_measures_nothing_twice_and_draws_the_same_map(tmp_path: Path) -> None:
    bench = open_bench(tmp_path / "bench", "SIM-0001")
    try:
        counter = CountingExecutor(bench.lab.chip.executor)
        bench.lab.chip.executor = counter
        env = {**os.environ, "BRINGUP_GOLDEN_CACHE": str(tmp_path / "golden")}
        runbook = bench.runbook(BODY, name="shmoo-crash")
        child = subprocess.Popen([BRINGUP, "run", str(runbook), "--station", str(bench.station), "--chip",
                                  "SIM-0001", "--db", bench.db_url], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        try:
            run_id = wait_until(lambda: _only_run(bench.db_url), timeout=60, what="the run to be recorded")
            wait_until(lambda: _count(bench.db_url, SweepPointRow, run_id) >= 12, timeout=120,
                       what="the first sweep points to be recorded")
        finally:
            child.send_signal(signal.SIGKILL)  # no teardown, no flush: a crash
            child.wait(10)
        wait_until(lambda: outputs_on(bench.lab) == [], timeout=30, what="the watchdog's power-down")
        recorded = _count(bench.db_url, VectorResultRow, run_id)
        points_before = _count(bench.db_url, SweepPointRow, run_id)

        counter.runs = 0
        resumed = subprocess.run([BRINGUP, "resume", run_id[:8], "--station", str(bench.station),
                                  "--db", bench.db_url], env=env, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        runs_on_resume = counter.runs
        assert outputs_on(bench.lab) == []

        counter.runs = 0
        whole = bench.run(BODY)
        assert whole.status == "passed", whole.reason
        runs_uninterrupted = counter.runs
    finally:
        bench.lab.stop()

    assert points_before > 0 and 0 < recorded < runs_uninterrupted, "killed too late to test a resume"
    # Exactly what was not recorded ran again: nothing recorded was measured a second time.
    assert runs_on_resume == runs_uninterrupted - recorded
    assert _count(bench.db_url, VectorResultRow, run_id) == runs_uninterrupted
    assert _latest_outcomes(bench, run_id) == _latest_outcomes(bench, whole.run_id)
    engine = make_engine(bench.db_url)
    with engine.connect() as conn:
        rows = conn.execute(select(SweepPointRow.vdd_core_v, SweepPointRow.core_mhz, SweepPointRow.confirmed)
                            .where(SweepPointRow.run_id == run_id)).all()
    engine.dispose()
    assert max(Counter(rows).values()) == 1, "a point was recorded twice in the same state"
