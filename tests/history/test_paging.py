"""A long table pages on a terminal and streams whole into a pipe; db upgrade refreshes statistics."""

from __future__ import annotations

import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from recorded import PlannedRun, Result, record

from bringup.cli import main
from bringup.events import Conditions


@pytest.fixture(scope="module")
def many_rows(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("paging") / "lab.db"
    corner = Conditions(vdd_core_v=0.8, core_mhz=500.0)
    record(f"sqlite:///{path}", PlannedRun(chip="SIM-0001", steps=[
        Result(vectors=[(f"random-{n}", n % 7 != 0, corner) for n in range(120)])]))
    return str(path)


def run_on_a_terminal(args: list[str], pager_out: Path) -> str:
    """Run `bringup ARGS` with its stdout on a pty of 24 lines; PAGER writes what it is given to a file."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "PAGER": f"sh -c 'cat > {pager_out}'", "LINES": "24", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "bringup.cli", *args], stdin=terminal, stdout=terminal,
                               stderr=subprocess.PIPE, env=env)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    os.close(controller)
    return seen.decode(errors="replace")


def test_a_long_table_on_a_terminal_goes_through_the_pager(many_rows: str, tmp_path: Path) -> None:
    pager_out = tmp_path / "paged.txt"

    on_screen = run_on_a_terminal(["query", "vectors", "--db", many_rows], pager_out)

    paged = pager_out.read_text(encoding="utf-8").rstrip("\n").splitlines()
    assert len(paged) == 3 + 120 and "random-119" in paged[-1], paged[:2] + paged[-3:]
    assert "random-1 " not in on_screen


def test_a_short_table_on_a_terminal_is_printed_directly(many_rows: str, tmp_path: Path) -> None:
    pager_out = tmp_path / "paged.txt"

    on_screen = run_on_a_terminal(["query", "runs", "--db", many_rows], pager_out)

    assert "SIM-0001" in on_screen and not pager_out.exists()


def test_a_long_table_in_a_pipe_is_written_whole_without_a_pager(many_rows: str) -> None:
    env = {**os.environ, "PAGER": "false"}
    out = subprocess.run([sys.executable, "-m", "bringup.cli", "query", "vectors", "--db", many_rows],
                         capture_output=True, text=True, env=env, timeout=60, check=True)

    assert len(out.stdout.splitlines()) == 3 + 120


def test_db_upgrade_refreshes_the_planner_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"

    result = CliRunner().invoke(main, ["db", "upgrade", "--db", url])

    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "lab.db") as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "sqlite_stat1" in tables  # what ANALYZE writes
