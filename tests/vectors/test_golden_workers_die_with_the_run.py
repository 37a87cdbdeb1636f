"""A run killed outright (SIGKILL, OOM) must not leave its golden worker processes behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
# A run's process: starts the step's golden worker pool, makes sure a worker is up, says its pid,
# and is killed before it can shut the pool down.
KILLED_RUN = """
import os, signal
from bringup.vectors import golden_pool
if __name__ == "__main__":
    pool = golden_pool.make_executor(1)
    print(pool.submit(os.getpid).result(timeout=120), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone, just not reaped yet
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_a_golden_worker_exits_when_the_run_that_started_it_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN)
    run = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                           text=True)
    assert run.stdout is not None
    line = run.stdout.readline()  # not to EOF: an orphaned worker holds the pipe open
    assert run.wait(timeout=60) == -signal.SIGKILL
    run.stdout.close()
    worker = int(line)
    try:
        wait_until(lambda: not _alive(worker), timeout=30, what="the orphaned golden worker to exit")
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
