"""`bringup run` exit codes as a script or a shell relies on them: 0 passed, 1 failed, 2 invalid
input (one line, no traceback, nothing touched), 3 aborted or error."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sequencer_bench import Bench
from simlab_state import outputs_on

BRINGUP = shutil.which("bringup", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")


def _run(bench: Bench, body: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BRINGUP, "run", str(bench.runbook(body)), "--station", str(bench.station), "--chip", "SIM-0001",
         "--db", bench.db_url, *extra], capture_output=True, text=True, timeout=120,
    )


def test_exit_0_when_every_step_passes(bench: Bench) -> None:
    long_name = "settle the rails before anything else " * 3
    body = f"- step: power_on\n- step: wait\n  name: {long_name}\n  seconds: 0\n- step: power_off"
    done = _run(bench, body, "--lot", "L42", "--wafer", "3", "--die", "4", "7")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run passed" in done.stdout
    # Into a pipe nothing is wrapped: a long step line and the run id stay whole on their lines.
    lines = done.stdout.splitlines()
    assert f"  2. {long_name.strip()}: passed" in "\n".join(lines), done.stdout
    assert any(re.search(r"run id [0-9a-f]{32}$", line) for line in lines), done.stdout


def test_exit_1_when_a_measurement_is_outside_its_limits(bench: Bench) -> None:
    body = "- step: power_on\n- step: measure\n  rail: VDD_CORE\n  quantity: voltage\n  high: 0.5\n- step: power_off"
    done = _run(bench, body)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "run failed" in done.stdout
    assert outputs_on(bench.lab) == []


def test_exit_2_and_one_line_for_a_bad_runbook(bench: Bench) -> None:
    done = _run(bench, "- step: power_on\n- step: meassure")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and ":4: unknown step 'meassure'" in lines[0]
    assert outputs_on(bench.lab) == []


def test_exit_3_when_an_instrument_cannot_be_reached(bench: Bench) -> None:
    station = bench.station_with("/dev/pts/", "/dev/no-such-pts/")
    done = subprocess.run(
        [BRINGUP, "run", str(bench.runbook("- step: power_on")), "--station", str(station), "--chip", "SIM-0001",
         "--db", bench.db_url], capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert "cannot open the serial port" in done.stderr
