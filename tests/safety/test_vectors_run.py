"""`bringup vectors run SUITE --station` takes the path `bringup run` takes: every vector checked
before any instrument is touched, and a signal ends it safely (the recorded run itself:
tests/dut/test_cli_vectors.py)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from polling import wait_until
from safety_bench import BRINGUP, SafetyBench, stop
from simlab_state import outputs_on
from sqlalchemy import func, select

from bringup.db.models import VectorResultRow
from bringup.vectors import generate

pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")


def _vectors_run(bench: SafetyBench, suite: Path, *extra: str):
    return bench.bringup("vectors", "run", str(suite), "--station", str(bench.station), "--chip", "SIM-0001",
                         "--db", bench.db_url, "--cache", str(bench.folder / "golden"), *extra)


def _vector_results(bench: SafetyBench) -> int:
    with bench.engine().connect() as conn:
        return conn.execute(select(func.count()).select_from(VectorResultRow)).scalar_one()


def test_a_malformed_vector_is_one_line_exit_2_before_any_instrument_is_touched(bench: SafetyBench) -> None:
    generate(5, 3, 10, out_dir=bench.folder / "suite")
    broken = bench.folder / "suite" / "random-5-2.hex"
    broken.write_text(broken.read_text() + "\nnot-a-hex-word\n")
    child = _vectors_run(bench, bench.folder / "suite" / "suite.yaml")
    out, err = child.communicate(timeout=90)
    assert child.returncode == 2, out + err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "random-5-2" in err and "Traceback" not in err
    assert bench.scpi_commands == []


def test_sigterm_during_the_vectors_ends_with_the_bench_off_exit_3(bench: SafetyBench) -> None:
    generate(9, 400, 20, out_dir=bench.folder / "many")  # long enough to be mid-run
    child = _vectors_run(bench, bench.folder / "many" / "suite.yaml")
    try:
        wait_until(lambda: child.poll() is not None or (bench.run_row() and _vector_results(bench) >= 2),
                   timeout=120, what="the first vector results")
        assert child.poll() is None, child.communicate()
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        stop(child)
    assert child.returncode == 3, out + err
    assert outputs_on(bench.lab) == []
    recorded = bench.run_row()[1:]
    assert recorded == ("aborted", "terminated (SIGTERM)"), recorded
