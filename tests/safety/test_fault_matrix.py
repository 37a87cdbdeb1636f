"""The fault matrix (issue 7, DESIGN.md safety rule 3): every fault, injected mid-run on the
simulated lab during `run_vectors` and during a (slow) ramp, ends with every rail and the clock
off, the forcer parked, the chip undamaged, the run's status and reason recorded truthfully and
no acknowledged result lost.

Runs are in-process (bringup.api, as the TUI and scripts run them) except for the rows that
must kill or signal the run's own process, which run `bringup run` as a subprocess. The default
run takes a representative subset (`DEFAULT_ROWS`, eight rows); `-m slow` runs the whole cross product.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from matrix_faults import INJECTORS, PREPARE, SUBPROCESS_FAULTS, Injection, TcpProxy, forcer_parked
from polling import wait_until
from safety_bench import BRINGUP, SafetyBench, stop
from simlab_state import outputs_on
from sqlalchemy import func, select

from bringup.api import run_runbook
from bringup.db.models import VectorResultRow
from bringup.db.recorder import RecorderError
from bringup.events import RunStarted, VectorResult
from bringup.lease import current_owner
from bringup.watchdog import DIED_REASON

pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")

PHASES = ("vectors", "ramp")
VECTORS_MID_RUN = 2  # results recorded before a `vectors` fault is injected
END_TIMEOUT_S = 90  # a run's end after its fault, on two busy cores (never a speed check)
RUNBOOK = """
- step: set_temperature
  celsius: 40
  window_c: 2
  soak_s: 0
  timeout_s: 60
- step: power_on
- step: run_vectors
  suite: random
  seed: 3
  count: {count}
  repeat: {repeat}
  length: 30
- step: power_off
"""
# The slow ramp: VDD_IO climbs in 0.3 V steps at 1 V/s, ~1.8 s in all.
SLOW_RAMP = ("ramp_step_v: 0.3, ramp_rate_v_per_s: 20.0}", "ramp_step_v: 0.3, ramp_rate_v_per_s: 1.0}")


@dataclass(frozen=True)
class Expect:
    status: str  # a regular expression: the recorded status must match it whole
    reason: str  # a regular expression the recorded reason must match


ABORTED_BY = {"SIGINT": r"interrupted by Ctrl-C \(SIGINT\)", "SIGTERM": r"terminated \(SIGTERM\)",
              "SIGHUP": r"terminal closed \(SIGHUP\)"}

EXPECTED: dict[tuple[str, str], Expect] = {
    ("supply silent", "vectors"): Expect("error", r"psu_io stopped answering"),
    ("supply silent", "ramp"): Expect("error", r"psu_io.*(timed out|did not answer|no answer)"),
    ("SCPI error", "vectors"): Expect("passed", r"every step passed"),  # met at power-down, retried
    ("SCPI error", "ramp"): Expect("error", r"psu_io.*-222.*Data out of range"),
    ("TCP dropped", "vectors"): Expect("passed", r"every step passed"),  # the driver reconnects
    ("TCP dropped", "ramp"): Expect("passed", r"every step passed"),
    ("OCP trip", "vectors"): Expect("error", r"VDD_IO.*OCP tripped"),
    ("OCP trip", "ramp"): Expect("error", r"VDD_IO.*OCP tripped"),
    ("latch-up", "vectors"): Expect("error", r"VDD_IO.*(OCP tripped|over-current)"),
    ("latch-up", "ramp"): Expect("error", r"VDD_IO.*(OCP tripped|over-current)"),
    ("chip hang", "vectors"): Expect("error", r"DutTimeout: chip SIM-0001 did not answer"),
    ("chip hang", "ramp"): Expect("passed", r"every step passed"),  # an unpowered chip boots afresh
    # Garbage between two commands is drained (passed); inside a reply it ends the run as an error.
    ("UART garbage", "vectors"): Expect("passed|error", r"every step passed|DutError: .*SIM-0001"),
    ("UART garbage", "ramp"): Expect("passed", r"every step passed"),
    ("forcer failure", "vectors"): Expect("passed", r"every step passed"),  # not used mid-run
    ("forcer failure", "ramp"): Expect("passed", r"every step passed"),
    ("database locked", "vectors"): Expect("passed", r"every step passed"),  # the writer waits
    ("database locked", "ramp"): Expect("passed", r"every step passed"),
    ("database gone", "vectors"): Expect("error", r"recording stopped"),
    ("database gone", "ramp"): Expect("error", r"recording stopped"),
    ("PostgreSQL unreachable", "vectors"): Expect("error", r"recording stopped"),
    ("PostgreSQL unreachable", "ramp"): Expect("error", r"recording stopped"),
    **{(name, "vectors"): Expect("aborted", reason) for name, reason in ABORTED_BY.items()},
    **{(name, "ramp"): Expect("aborted", reason) for name, reason in ABORTED_BY.items()},
    ("kill -9", "vectors"): Expect("interrupted", re.escape(DIED_REASON)),
    ("kill -9", "ramp"): Expect("interrupted", re.escape(DIED_REASON)),
    ("estop from another process", "vectors"): Expect("aborted", r"estop from host \S+ \(pid \d+\)"),
    ("estop from another process", "ramp"): Expect("aborted", r"estop from host \S+ \(pid \d+\)"),
    ("two runs on one bench", "vectors"): Expect("passed", r"every step passed"),
    ("two runs on one bench", "ramp"): Expect("passed", r"every step passed"),
}
# Faults that take the database away mid-run: the run ends on its journal, `bringup db replay`
# writes it once the database answers again, and only then is the record checked.
DATABASE_LOST = {"database gone", "PostgreSQL unreachable"}
# The default run: the kinds of ending that differ most, each once, in the phase where it says
# the most (~30 s on two idle cores); SIGHUP/SIGQUIT, the lease and the watchdog have their own
# short tests beside this module. `-m slow` runs every row.
DEFAULT_ROWS = {
    ("supply silent", "ramp"), ("OCP trip", "vectors"), ("chip hang", "vectors"), ("database locked", "ramp"),
    ("SIGTERM", "ramp"), ("kill -9", "vectors"), ("estop from another process", "ramp"),
    ("two runs on one bench", "vectors"),
}


def _rows() -> Iterator[object]:
    for fault in INJECTORS:
        for phase in PHASES:
            marks = [] if (fault, phase) in DEFAULT_ROWS else [pytest.mark.slow]
            if fault == "PostgreSQL unreachable":
                marks.append(pytest.mark.postgres)
            yield pytest.param(fault, phase, marks=marks, id=f"{fault}-{phase}".replace(" ", "_"))


@pytest.fixture(scope="session")
def golden_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("golden")  # the matrix's vectors are computed once


@pytest.mark.parametrize(("fault", "phase"), list(_rows()))
def test_fault_matrix(bench: SafetyBench, golden_dir: Path, monkeypatch: pytest.MonkeyPatch,
                      fault: str, phase: str) -> None:
    monkeypatch.setenv("BRINGUP_GOLDEN_CACHE", str(golden_dir))
    expect = EXPECTED[(fault, phase)]
    station = bench.station_with(*SLOW_RAMP) if phase == "ramp" else bench.station
    # 400 results (goldens for 20): a vectors phase of about two seconds, for a fault to land in.
    runbook = bench.runbook(RUNBOOK.format(count=4, repeat=1) if phase == "ramp" else
                            RUNBOOK.format(count=20, repeat=20))
    injection = Injection(bench)
    try:
        try:
            if fault in PREPARE:
                PREPARE[fault](injection)
                injection.cleanup.append(injection.prepared.close)
            if fault == "PostgreSQL unreachable":
                bench.db_url = _postgres_behind(injection)
            if fault in SUBPROCESS_FAULTS:
                run_id, acknowledged = _in_a_subprocess(bench, injection, fault, phase, runbook, station)
            else:
                run_id, acknowledged = _in_process(bench, injection, fault, phase, runbook, station)
        finally:
            for undo in reversed(injection.undo):
                undo()
        if fault in DATABASE_LOST:  # the run's end is in its journal until the database answers
            _replay(bench)
        _check_end_state(bench, injection, expect, run_id, acknowledged)
    finally:
        for cleanup in injection.cleanup:
            cleanup()


# ------------------------------------------------------------------------------- running a row
def _in_process(bench: SafetyBench, inj: Injection, fault: str, phase: str, runbook: Path,
                station: Path) -> tuple[str, int]:
    results: list[VectorResult] = []
    run_ids: list[str] = []
    started = threading.Event()

    def watch(event: object) -> None:
        if isinstance(event, RunStarted):
            run_ids.append(event.run_id)
        if isinstance(event, VectorResult):
            results.append(event)
            if len(results) >= VECTORS_MID_RUN:
                started.set()

    committed_before: list[int] = []

    def inject() -> None:
        _wait_for_phase(bench, phase, lambda: started.is_set())
        committed_before.append(_vector_rows(bench))
        INJECTORS[fault](inj)

    injector = threading.Thread(target=inject, name="injector", daemon=True)
    injector.start()
    try:
        run_runbook(runbook, station, "SIM-0001", db_url=bench.db_url, watchers=[watch], monitor_hz=20)
        recorded_all = True  # returning is the API's word that every result it saw is recorded
    except RecorderError:
        recorded_all = False  # it says loudly that the record is incomplete: what was committed stays
    injector.join(END_TIMEOUT_S)
    assert not injector.is_alive(), f"the {fault} fault was never injected (the run missed its {phase})"
    return run_ids[0], len(results) if recorded_all else committed_before[0]


def _in_a_subprocess(bench: SafetyBench, inj: Injection, fault: str, phase: str, runbook: Path,
                     station: Path) -> tuple[str, int]:
    inj.child = bench.bringup("run", str(runbook), "--station", str(station), "--chip", "SIM-0001",
                              "--db", bench.db_url)
    try:
        _wait_for_phase(bench, phase, lambda: _vector_rows(bench) >= VECTORS_MID_RUN, child=inj.child)
        acknowledged = _vector_rows(bench)  # committed before the fault: these must survive it
        INJECTORS[fault](inj)
        inj.child.communicate(timeout=END_TIMEOUT_S)
        if fault == "kill -9":  # its watchdog powers down and records; wait for it, bounded
            wait_until(lambda: outputs_on(bench.lab) == [], END_TIMEOUT_S, "the watchdog's power-down")
            wait_until(lambda: bench.run_row()[1] != "running", END_TIMEOUT_S, "the watchdog's record")
            # It held the lease while it worked; once done, the bench is free (for a resume).
            wait_until(lambda: current_owner("simlab") is None, END_TIMEOUT_S, "the watchdog to exit")
        else:
            assert inj.child.returncode == 3, f"exit {inj.child.returncode}"
    finally:
        stop(inj.child)
    return bench.run_row()[0], acknowledged


def _wait_for_phase(bench: SafetyBench, phase: str, vectors_running, child=None) -> None:
    io_rail = bench.lab.physics.channel_for("VDD_IO")

    def reached() -> bool:
        if child is not None and child.poll() is not None:
            raise AssertionError(f"the run ended before its {phase}: {child.communicate()}")
        if phase == "ramp":
            return io_rail.output and 0.2 < io_rail.set_v < 1.4
        return vectors_running()

    wait_until(reached, END_TIMEOUT_S, f"the run's {phase}")


def _vector_rows(bench: SafetyBench, run_id: str | None = None) -> int:
    query = select(func.count()).select_from(VectorResultRow)
    if run_id is not None:
        query = query.where(VectorResultRow.run_id == run_id)
    try:
        with bench.engine().connect() as conn:
            return conn.execute(query).scalar_one()
    except Exception:  # the run has not created its tables yet
        return 0


# ------------------------------------------------------------------------------ the end state
def _check_end_state(bench: SafetyBench, inj: Injection, expect: Expect, run_id: str,
                     acknowledged: int) -> None:
    assert outputs_on(bench.lab) == [], "rails or clock left on"
    assert not bench.lab.chip.damaged, bench.lab.chip.damage
    if inj.second_run is not None:
        assert inj.second_run.returncode == 2, inj.second_run.stderr
        assert f"station simlab is busy: run {run_id[:8]}" in inj.second_run.stderr
    if inj.estop is not None:
        assert inj.estop.returncode == 0, inj.estop.stdout + inj.estop.stderr
    bench._engine = None  # a fresh engine: the database may have been replaced under the old one
    row = _recorded(bench, run_id)
    status, reason = row if row else (None, "")
    truthful = re.fullmatch(expect.status, status or "") is not None and re.search(expect.reason, reason)
    assert truthful, f"recorded {status!r} {reason!r}, expected {expect.status!r} /{expect.reason}/"
    recorded = _vector_rows(bench, run_id)
    assert recorded >= acknowledged, f"{acknowledged} acknowledged vector results, {recorded} recorded"
    parked, forcer = forcer_parked(bench)
    assert parked, f"forcer not parked: {forcer}"


def _replay(bench: SafetyBench) -> None:
    done = subprocess.run([BRINGUP, "db", "replay", "--db", bench.db_url], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "replayed run" in done.stdout, done.stdout + done.stderr


def _recorded(bench: SafetyBench, run_id: str) -> tuple[str, str] | None:
    try:
        row = bench.run_row(run_id)
    except Exception:  # the database itself is gone
        return None
    return None if row is None else (row[1], row[2])


def _postgres_behind(inj: Injection) -> str:
    """A fresh schema on the test PostgreSQL, reached through a proxy the row can cut."""
    from sqlalchemy import text

    from bringup.db.engine import make_engine

    url = os.environ.get("BRINGUP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        admin = make_engine(url, upgrade=False, connect_args={"connect_timeout": 3})
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL at {url} ({type(exc).__name__})")

    proxy = TcpProxy((admin.url.host or "127.0.0.1", admin.url.port or 5432))
    inj.proxy = proxy

    def drop() -> None:
        if bench_engine := inj.bench._engine:
            bench_engine.dispose()
        proxy.close()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    inj.cleanup.append(drop)
    database = admin.url.database
    return (f"postgresql+psycopg://{admin.url.username}@127.0.0.1:{proxy.port}/{database}"
            f"?options=-csearch_path%3D{schema}")
