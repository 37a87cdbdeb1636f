"""kill -9: nothing in the run's process survives it, so its watchdog powers the bench down and
records why; a clean end releases the watchdog without it touching the bench."""

from __future__ import annotations

import signal

import pytest
from polling import wait_until
from safety_bench import BRINGUP, LONG_WAIT, SafetyBench, stop
from simlab_state import outputs_on

from bringup.lease import StationLease, current_owner
from bringup.watchdog import DIED_REASON, Watchdog, WatchdogConfig

pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")
POWER_DOWN_BOUND_S = 30  # watchdog start-up + estop's connections, on two busy cores


@pytest.mark.slow  # by default: the fault matrix's kill -9 row and tests/sequencer/test_crash_resume.py
def test_kill_9_mid_run_the_watchdog_powers_the_bench_down_and_records_why(bench: SafetyBench) -> None:
    child = bench.bringup("run", str(bench.runbook(LONG_WAIT)), "--station", str(bench.station),
                          "--chip", "SIM-0001", "--db", bench.db_url)
    try:
        wait_until(lambda: bench.step_running("wait"), timeout=90, what="the run's wait step")
        assert len(outputs_on(bench.lab)) == 4
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        wait_until(lambda: outputs_on(bench.lab) == [], timeout=POWER_DOWN_BOUND_S,
                   what="the watchdog to power the bench down")
        wait_until(lambda: bench.run_row()[1] != "running", timeout=POWER_DOWN_BOUND_S,
                   what="the watchdog to record the run")
    finally:
        stop(child)
    _, status, reason = bench.run_row()
    assert (status, reason) == ("interrupted", DIED_REASON)
    # The watchdog held the lease while it worked; once done, the bench is free for a resume.
    wait_until(lambda: current_owner("simlab") is None, timeout=POWER_DOWN_BOUND_S, what="the lease")


def test_a_clean_end_releases_the_watchdog_without_touching_the_bench(bench: SafetyBench) -> None:
    from bringup.station import load_station

    spec = load_station(bench.station)
    bench.lab.physics.refclk.output = True  # were the watchdog to act, this would go off
    with StationLease("simlab", "r" * 32) as lease:
        watchdog = Watchdog(WatchdogConfig("r" * 32, spec.model_dump(mode="json"), bench.db_url),
                            lease_fd=lease.fd).start()
        watchdog.wait_ready()
        process = watchdog.process
        watchdog.release()
    assert process.returncode == 0
    assert bench.scpi_commands == [] and outputs_on(bench.lab) == ["refclk"]
