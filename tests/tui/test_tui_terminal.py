"""The TUI in a real terminal (tmux): the demo as a person sees it, and a terminal that goes away.

`bringup demo` at 100×30: rails in power-on order, the ETA, the run to its end, then `n` starts
the next chip. And with a run going, a closed terminal (SIGHUP) or SIGTERM puts the bench in
its safe state and the TUI is gone within a bound.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from simlab_state import outputs_on
from tui_bench import ROOT, make_bench

TMUX = shutil.which("tmux")
BRINGUP = Path(sys.executable).parent / "bringup"  # the console script of this virtualenv
SESSION = "bringup-tui"
pytestmark = [
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)"),
    pytest.mark.skipif(not BRINGUP.exists(), reason=f"no console script {BRINGUP}: pip install -e ."),
]
CLOSED_TERMINAL_BOUND_S = 10.0  # the TUI aims at 2 s; the bound is loose for a loaded test machine


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


def keys(tmux: list[str], *pressed: str) -> None:
    subprocess.run([*tmux, "send-keys", "-t", SESSION, *pressed], check=True)


def wait_until(condition, timeout: float, what: str, shown=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; the screen:\n{shown()}")
        time.sleep(0.1)


def start_in_tmux(tmux: list[str], tmp_path: Path, command: str, size: tuple[int, int]) -> None:
    env = {"PYTHONPATH": str(ROOT), "BRINGUP_GOLDEN_CACHE": str(tmp_path / "golden"), "TERM": "xterm-256color"}
    exports = " ".join(f"{key}={value}" for key, value in env.items())
    shell = f"cd {tmp_path} && exec env {exports} {command}"
    subprocess.run([*tmux, "new-session", "-d", "-s", SESSION, "-x", str(size[0]), "-y", str(size[1]), shell],
                   check=True, env={**os.environ, **env})


def rails_in_order(seen: str) -> bool:
    lines = seen.splitlines()
    where = {rail: next((i for i, line in enumerate(lines) if line.lstrip("│ ").startswith(rail)), None)
             for rail in ("VDD_CORE", "VDD_SRAM", "VDD_IO")}
    return None not in where.values() and where["VDD_CORE"] < where["VDD_SRAM"] < where["VDD_IO"]


def test_demo_at_100x30_shows_rails_in_order_and_eta_then_n_starts_the_next_chip(tmux, tmp_path):
    start_in_tmux(tmux, tmp_path, f"{BRINGUP} demo --db sqlite:///{tmp_path / 'lab.db'}", (100, 30))
    wait_until(lambda: "rails (power-on order)" in screen(tmux) and rails_in_order(screen(tmux)), 90,
               "the live screen's rails VDD_CORE, VDD_SRAM, VDD_IO in power-on order", lambda: screen(tmux))
    seen = screen(tmux)
    assert "ETA" in seen and "elapsed" in seen
    assert "p pause/resume" in seen and "n next chip" not in seen
    finished = ("status passed", "status failed")
    wait_until(lambda: any(word in screen(tmux) for word in finished), 120, "the demo run to end",
               lambda: screen(tmux))
    wait_until(lambda: "n next chip" in screen(tmux) and "p pause/resume" not in screen(tmux), 20,
               "the footer to offer n/h/q and no longer p/s/a", lambda: screen(tmux))
    assert "Traceback" not in screen(tmux)
    assert not (tmp_path / "simlab-station.yaml").exists(), "the demo leaves the tour's station file alone"

    first_run = re.search(r"run ([0-9a-f]{12})", screen(tmux)).group(1)
    keys(tmux, "n")
    wait_until(lambda: "runbook (from runbooks/)" in screen(tmux), 30, "the start screen for the next chip", lambda: screen(tmux))
    keys(tmux, "Enter")  # the serial field has focus, the values kept: Enter starts the next chip
    wait_until(lambda: (m := re.search(r"run ([0-9a-f]{12})", screen(tmux))) and m.group(1) != first_run, 60,
               "the next chip's run (a new run id) on the live screen", lambda: screen(tmux))
    keys(tmux, "q")  # asks first if the run still goes; y answers it, a no-op once it has ended
    keys(tmux, "y")
    wait_until(lambda: not session_alive(tmux), 60, "the demo to exit after q", lambda: screen(tmux))


def test_demo_shows_the_shmoo_filling_in(tmux, tmp_path):
    start_in_tmux(tmux, tmp_path, f"{BRINGUP} demo --db sqlite:///{tmp_path / 'lab.db'}", (160, 48))
    wait_until(lambda: "at 25 °C" in screen(tmux) and "●" in screen(tmux), 60, "the first shmoo points",
               lambda: screen(tmux))
    first = screen(tmux).count("●") + screen(tmux).count("✕")
    wait_until(lambda: screen(tmux).count("●") + screen(tmux).count("✕") > first, 60, "the shmoo advancing",
               lambda: screen(tmux))


def pane_pid(tmux: list[str]) -> int:
    out = subprocess.run([*tmux, "display-message", "-p", "-t", SESSION, "#{pane_pid}"], capture_output=True,
                         text=True, check=True).stdout
    return int(out.strip())


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie of ours is gone for this purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize("how", ["closed terminal", "SIGTERM"])
def test_a_run_going_ends_safe_and_the_tui_exits_when_its_terminal_goes(simlab, tmux, tmp_path, how):
    bench = make_bench(simlab, tmp_path, hold_s=120)
    # Only the holding runbook on offer: a key that lands before the list has the focus cannot
    # pick another one (tmux delivers keys faster than the app settles on a loaded machine).
    only_hold = tmp_path / "only-hold"
    only_hold.mkdir()
    shutil.copy(bench.runbooks / "hold.yaml", only_hold / "hold.yaml")
    command = f"{BRINGUP} tui --station {bench.station} --runbooks {only_hold} --db {bench.db_url}"
    start_in_tmux(tmux, tmp_path, command, (120, 36))
    wait_until(lambda: "hold.yaml" in screen(tmux) and "q quit" in screen(tmux), 30, "the start screen",
               lambda: screen(tmux))
    keys(tmux, "Enter")  # picks it; the serial field takes the focus
    for _ in range(50):  # type until the field shows it: an Enter sent before the list is up is lost
        keys(tmux, "-l", "SIM-0001")
        try:
            wait_until(lambda: "SIM-0001" in screen(tmux), 2, "the serial typed")
            break
        except AssertionError:
            keys(tmux, "Escape", "Down", "Up", "Down", "Enter")
    keys(tmux, "Enter")
    wait_until(lambda: "hold the rails up" in screen(tmux) and outputs_on(simlab), 60,
               "the run holding the rails up", lambda: screen(tmux))
    pid = pane_pid(tmux)
    started = time.monotonic()
    if how == "closed terminal":
        subprocess.run([*tmux, "kill-session", "-t", SESSION], check=True)  # the pty closes: SIGHUP
    else:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: process_gone(pid), CLOSED_TERMINAL_BOUND_S, "the TUI to exit")
    took = time.monotonic() - started
    assert outputs_on(simlab) == [], "the bench was left powered"
    print(f"{how}: the TUI was gone {took:.2f} s after, every output off")
