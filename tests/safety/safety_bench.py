"""The safety tests' bench: the simulated lab, its station file, a database, and the ways a
user starts and ends a `bringup` process (a plain subprocess, or one on a terminal of its own)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import termios
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from bringup.db.models import Run, Step
from bringup.simlab import SimLab

BRINGUP = shutil.which("bringup", path=str(Path(sys.executable).parent))
ROOT = Path(__file__).resolve().parents[2]
INSTRUMENT_TIMEOUT_S = 0.5  # a silent instrument is noticed in half a second
LONG_WAIT = "- step: power_on\n- step: wait\n  seconds: 120\n- step: power_off"


@dataclass
class SafetyBench:
    lab: SimLab
    station: Path
    db_url: str
    folder: Path
    scpi_commands: list[str] = field(default_factory=list)
    _engine: Engine | None = None

    def runbook(self, body: str, name: str = "safety") -> Path:
        path = self.folder / f"{name}.yaml"
        path.write_text(f"name: {name}\nsteps:\n" + textwrap.indent(textwrap.dedent(body).strip(), "  ") + "\n")
        return path

    def station_with(self, old: str, new: str, name: str = "station-variant.yaml") -> Path:
        text = self.station.read_text()
        assert old in text, old
        path = self.folder / name
        path.write_text(text.replace(old, new))
        return path

    def engine(self) -> Engine:
        if self._engine is None:
            from bringup.db.engine import make_engine

            self._engine = make_engine(self.db_url)
        return self._engine

    def run_row(self, run_id: str | None = None) -> tuple[str, str, str] | None:
        """(id, status, reason) of `run_id`, or of the only run recorded."""
        query = select(Run.id, Run.status, Run.reason)
        if run_id is not None:
            query = query.where(Run.id == run_id)
        with self.engine().connect() as conn:
            rows = conn.execute(query).all()
        return tuple(rows[-1]) if rows else None  # type: ignore[return-value]

    def step_running(self, kind: str) -> bool:
        with self.engine().connect() as conn:
            return conn.execute(select(Step.id).where(Step.kind == kind, Step.status == "running")).first() \
                is not None

    def bringup(self, *args: str, terminal: bool = False, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start `bringup ARGS`; with `terminal`, on a pty of its own that is its controlling
        terminal (so that closing the pty's master hangs it up, as closing a window does)."""
        assert BRINGUP is not None
        full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
        if not terminal:
            return subprocess.Popen([BRINGUP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=full_env)
        master, slave = os.openpty()
        child = subprocess.Popen([BRINGUP, *args], stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                 start_new_session=True, preexec_fn=_take_controlling_terminal)
        os.close(slave)
        child.terminal_master = master  # type: ignore[attr-defined]
        return child


def _take_controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def bench_for(lab: SimLab, folder: Path) -> SafetyBench:
    station = folder / "station.yaml"
    text = re.sub(r'(resource: "[^"]+")', rf"\1, timeout_s: {INSTRUMENT_TIMEOUT_S}", lab.station_text())
    station.write_text(text)
    bench = SafetyBench(lab, station, f"sqlite:///{folder / 'lab.db'}", folder)
    for server in lab.servers.values():
        _count_commands(server, bench.scpi_commands)
    return bench


def _count_commands(server: object, log: list[str]) -> None:
    """Every SCPI line the lab's instruments receive, in order: 'nothing touched' is checkable."""
    serve: Callable[[str], str | None] = server.serve_line  # type: ignore[attr-defined]

    def logged(line: str) -> str | None:
        log.append(f"{server.name}: {line}")  # type: ignore[attr-defined]
        return serve(line)

    server.serve_line = logged  # type: ignore[attr-defined]


def stop(child: subprocess.Popen) -> None:
    """Whatever happened in the test, leave no `bringup` process behind."""
    if child.poll() is None:
        child.kill()
        child.wait(30)
    master = getattr(child, "terminal_master", None)
    if master is not None:
        try:
            os.close(master)
        except OSError:
            pass
