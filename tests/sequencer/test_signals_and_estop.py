"""Ctrl-C and SIGTERM end a `bringup run` with every rail off and the reason recorded (exit 3);
`bringup estop` from another process turns the bench off while a run holds it."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from polling import wait_until
from sequencer_bench import Bench
from simlab_state import outputs_on
from sqlalchemy import select

from bringup.db.models import Run, Step
from bringup.events import RunStatus, StepStarted

BRINGUP = shutil.which("bringup", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")

LONG_WAIT = "- step: power_on\n- step: wait\n  seconds: 120\n- step: power_off"


def _step_running(bench: Bench, kind: str) -> bool:
    with bench.engine().connect() as conn:
        return conn.execute(select(Step.id).where(Step.kind == kind, Step.status == "running")).first() is not None


@pytest.mark.parametrize(("signum", "reason"), [(signal.SIGINT, "interrupted by Ctrl-C (SIGINT)"),
                                                (signal.SIGTERM, "terminated (SIGTERM)")])
def test_a_signal_aborts_the_run_with_every_rail_off(bench: Bench, signum: int, reason: str) -> None:
    child = subprocess.Popen(
        [BRINGUP, "run", str(bench.runbook(LONG_WAIT)), "--station", str(bench.station), "--chip", "SIM-0001",
         "--db", bench.db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_until(lambda: _step_running(bench, "wait"), timeout=60, what="the run to reach its wait step")
        assert outputs_on(bench.lab)
        child.send_signal(signum)
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 3, out + err
    assert "Traceback" not in err
    assert outputs_on(bench.lab) == []
    with bench.engine().connect() as conn:
        assert conn.execute(select(Run.status, Run.reason)).one() == ("aborted", reason)


def test_estop_from_another_process_turns_the_bench_off_under_a_running_run(bench: Bench) -> None:
    estop_pids: list[int] = []

    def on_event(event) -> None:
        if isinstance(event, StepStarted) and event.kind == "wait":
            estop = subprocess.Popen([BRINGUP, "estop", "--station", str(bench.station)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            estop_pids.append(estop.pid)
            out, err = estop.communicate(timeout=60)
            assert estop.returncode == 0, out + err
            assert out.count(": OFF") == 4  # the clock, both supplies and the forcer (parked)

    report = bench.run(LONG_WAIT, on_event=on_event)
    assert outputs_on(bench.lab) == []
    # The run holding the bench was told by the estop: it records the estop, not a chip fault.
    assert report.status == RunStatus.ABORTED
    assert report.reason == f"estop from host {socket.gethostname()} (pid {estop_pids[0]})"
    with bench.engine().connect() as conn:
        assert conn.execute(select(Run.status, Run.reason)).one() == ("aborted", report.reason)
