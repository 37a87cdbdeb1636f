"""One run per bench: a second run is refused before any instrument is touched, naming the run
that holds the station; estop still works; a lease left by a dead process is free again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from polling import wait_until
from safety_bench import BRINGUP, LONG_WAIT, SafetyBench, stop
from simlab_state import outputs_on

from bringup.lease import StationBusy, StationLease, current_owner, lease_path

pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")
HOLDER_RUN_ID = "2e91f092" + "0" * 24


def test_a_second_run_on_a_held_station_exits_2_naming_the_owner_and_touches_nothing(
        bench: SafetyBench) -> None:
    with StationLease("simlab", HOLDER_RUN_ID):
        child = bench.bringup("run", str(bench.runbook(LONG_WAIT)), "--station", str(bench.station),
                              "--chip", "SIM-0001", "--db", bench.db_url)
        try:
            out, err = child.communicate(timeout=60)
        finally:
            stop(child)
    assert child.returncode == 2, out + err
    host = socket.gethostname()
    expected = f"error: station simlab is busy: run 2e91f092 (pid {os.getpid()} on host {host}) holds it"
    assert err.startswith(expected), err
    assert len(err.strip().splitlines()) == 1, err
    assert bench.scpi_commands == []
    assert bench.run_row() is None  # nothing recorded either: the run never began


@pytest.mark.slow  # the fault matrix's default "two runs on one bench" row covers it in-process
def test_two_real_runs_the_second_is_refused_and_the_first_runs_on(bench: SafetyBench) -> None:
    first = bench.bringup("run", str(bench.runbook(LONG_WAIT)), "--station", str(bench.station),
                          "--chip", "SIM-0001", "--db", bench.db_url)
    try:
        wait_until(lambda: bench.step_running("wait"), timeout=90, what="the first run's wait step")
        run_id, _, _ = bench.run_row()
        second = subprocess.run([BRINGUP, "run", str(bench.runbook(LONG_WAIT, "second")), "--station",
                                 str(bench.station), "--chip", "SIM-0001", "--db", bench.db_url],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"station simlab is busy: run {run_id[:8]} (pid {first.pid} on host" in second.stderr
        assert len(outputs_on(bench.lab)) == 4  # the first run's three rails and clock: untouched
        assert bench.run_row(run_id)[1] == "running"
        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 3
    finally:
        stop(first)
    assert outputs_on(bench.lab) == []


def test_estop_works_while_a_lease_is_held(bench: SafetyBench) -> None:
    bench.lab.physics.refclk.output = True  # something on, for estop to turn off
    with StationLease("simlab", HOLDER_RUN_ID):
        result = subprocess.run([BRINGUP, "estop", "--station", str(bench.station)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run 2e91f092" in result.stdout and result.stdout.count(": OFF") == 4
    assert outputs_on(bench.lab) == []


def test_a_lease_left_by_a_killed_process_is_free_again() -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "from bringup.lease import StationLease; import time; "
         f"StationLease('bench7', '{HOLDER_RUN_ID}').acquire(); print('held', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert current_owner("bench7").pid == holder.pid
        with pytest.raises(StationBusy, match=rf"station bench7 is busy: run 2e91f092 \(pid {holder.pid} on"):
            StationLease("bench7", "another").acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    finally:
        stop(holder)
    assert current_owner("bench7") is None
    with StationLease("bench7", "another"):
        assert current_owner("bench7").run_id == "another"
        assert lease_path("bench7").read_text()  # the owner record is in the lock file
    assert current_owner("bench7") is None


def test_a_run_recorded_live_on_another_host_holds_the_station_too(bench: SafetyBench) -> None:
    """A shared database sees what no local lock can: a run on the same bench from another PC."""
    from sqlalchemy import update

    from bringup.api import run_runbook
    from bringup.db.models import Run
    from bringup.db.recorder import Recorder

    with Recorder(bench.engine()) as recorder:
        run_id = recorder.start_run("SIM-0001", station_name="simlab")
    with bench.engine().begin() as conn:  # as the other PC's recorder wrote it (heartbeat fresh)
        conn.execute(update(Run).where(Run.id == run_id).values(host="bench3", pid=4242))
    with pytest.raises(StationBusy, match=rf"^station simlab is busy: run {run_id[:8]} \(pid 4242 on host bench3\)"):
        run_runbook(bench.runbook(LONG_WAIT), bench.station, "SIM-0001", db_url=bench.db_url)
    assert bench.scpi_commands == []


def test_a_resume_waits_for_its_own_dead_run_s_watchdog_but_never_for_another_run() -> None:
    held = StationLease("simlab", "run-killed").acquire()  # the killed run's watchdog, powering down
    try:
        started = time.monotonic()
        with pytest.raises(StationBusy, match="run run-kill"):
            StationLease("simlab", "another-run", wait_for_same_run_s=30).acquire()
        assert time.monotonic() - started < 5, "another run's lease must be refused at once"
        threading.Timer(0.3, held.release).start()  # the watchdog finishes and lets go
        resumed = StationLease("simlab", "run-killed", wait_for_same_run_s=30).acquire()
        resumed.release()
    finally:
        held.release()
