"""Every way a `bringup run` process ends takes the bench to its safe state first and records
why: each catchable signal, a closed terminal, a thread that dies; kill -9 is the watchdog's."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from polling import wait_until
from safety_bench import BRINGUP, LONG_WAIT, SafetyBench, stop
from simlab_state import outputs_on

from bringup.api import run_runbook
from bringup.events import RunStatus, StepStarted

pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")
RUN_START_TIMEOUT_S = 90  # a cold `bringup` start on two busy cores


def _start_run(bench: SafetyBench, *, terminal: bool = False):
    return bench.bringup("run", str(bench.runbook(LONG_WAIT)), "--station", str(bench.station),
                         "--chip", "SIM-0001", "--db", bench.db_url, terminal=terminal)


def _wait_for_the_wait_step(bench: SafetyBench, child) -> None:
    wait_until(lambda: bench.step_running("wait") or child.poll() is not None, timeout=RUN_START_TIMEOUT_S,
               what="the run to reach its wait step")
    assert child.poll() is None, "the run ended before its wait step"
    assert outputs_on(bench.lab), "the run should be holding the chip powered"


# SIGHUP: the closed-terminal test below (the kernel sends it), and the fault matrix (-m slow).
@pytest.mark.parametrize(("signum", "name"), [(signal.SIGQUIT, "SIGQUIT"),
                                              pytest.param(signal.SIGHUP, "SIGHUP", marks=pytest.mark.slow)])
def test_a_signal_that_used_to_kill_the_process_aborts_the_run_with_the_bench_off(
        bench: SafetyBench, signum: int, name: str) -> None:
    child = _start_run(bench)
    try:
        _wait_for_the_wait_step(bench, child)
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
    finally:
        stop(child)
    assert child.returncode == 3, out + err
    assert outputs_on(bench.lab) == []
    _, status, reason = bench.run_row()
    assert status == "aborted" and name in reason, reason
    assert "Traceback" not in err


def test_closing_the_terminal_aborts_the_run_with_the_bench_off(bench: SafetyBench) -> None:
    child = _start_run(bench, terminal=True)
    try:
        _wait_for_the_wait_step(bench, child)
        os.close(child.terminal_master)  # the window closes: the kernel hangs up the session
        child.terminal_master = None
        assert child.wait(60) == 3
    finally:
        stop(child)
    assert outputs_on(bench.lab) == []
    _, status, reason = bench.run_row()
    assert (status, reason) == ("aborted", "terminal closed (SIGHUP)")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # it is the point
def test_an_uncaught_exception_in_any_thread_aborts_the_run(bench: SafetyBench) -> None:
    def crash_a_thread(event) -> None:
        if isinstance(event, StepStarted) and event.kind == "wait":
            threading.Thread(target=_boom, name="helper", daemon=True).start()

    report = run_runbook(bench.runbook(LONG_WAIT), bench.station, "SIM-0001", db_url=bench.db_url,
                         watchers=[crash_a_thread], monitor_hz=20)
    assert report.status == RunStatus.ABORTED
    assert report.reason == "uncaught RuntimeError in thread helper: the helper thread broke"
    assert outputs_on(bench.lab) == []
    assert bench.run_row(report.run_id)[1:] == ("aborted", report.reason)


def _boom() -> None:
    raise RuntimeError("the helper thread broke")
