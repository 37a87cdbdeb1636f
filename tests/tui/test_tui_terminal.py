"""`bringup demo` in a real terminal (tmux): the live screen as a person sees it, then `q`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_bench import ROOT

TMUX = shutil.which("tmux")
BRINGUP = Path(sys.executable).parent / "bringup"  # the console script of this virtualenv
SESSION = "bringup-demo"
pytestmark = [
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)"),
    pytest.mark.skipif(not BRINGUP.exists(), reason=f"no console script {BRINGUP}: pip install -e ."),
]


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[list[str]]:
    """A private tmux server (its own socket), so no one else's sessions are touched."""
    command = [TMUX or "tmux", "-S", str(tmp_path / "tmux.sock")]
    yield command
    subprocess.run([*command, "kill-server"], capture_output=True)


def screen(tmux: list[str]) -> str:
    return subprocess.run([*tmux, "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True).stdout


def session_alive(tmux: list[str]) -> bool:
    return subprocess.run([*tmux, "has-session", "-t", SESSION], capture_output=True).returncode == 0


def wait_until(condition, timeout: float, what: str, shown=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; the screen:\n{shown()}")
        time.sleep(0.1)


def test_demo_shows_the_live_run_to_its_end_and_q_quits_cleanly(tmux: list[str], tmp_path: Path):
    exit_file = tmp_path / "exit-status"
    env = {"PYTHONPATH": str(ROOT), "BRINGUP_GOLDEN_CACHE": str(tmp_path / "golden"), "TERM": "xterm-256color"}
    exports = " ".join(f"{key}={value}" for key, value in env.items())
    shell = (f"cd {tmp_path} && env {exports} {BRINGUP} demo --db sqlite:///{tmp_path / 'lab.db'}; "
             f"echo $? > {exit_file}")
    subprocess.run([*tmux, "new-session", "-d", "-s", SESSION, "-x", "160", "-y", "50", shell],
                   check=True, env={**os.environ, **env})

    finished = ("status passed", "status failed")
    wait_until(lambda: any(word in screen(tmux) for word in finished), 90, "the demo run to end",
               lambda: screen(tmux))
    seen = screen(tmux)
    assert "overnight on chip SIM-0001" in seen
    for step in ("forcer to 25 °C", "power_on", "directed at 500 MHz", "shmoo VDD_CORE x clock"):
        assert step in seen, step
    assert "Traceback" not in seen
    assert "q quits" in seen

    subprocess.run([*tmux, "send-keys", "-t", SESSION, "q"], check=True)
    wait_until(lambda: not session_alive(tmux), 30, "the demo to exit after q", lambda: screen(tmux))
    assert exit_file.read_text().strip() == "0"
