"""Database faults mid-run on the simulated lab, through the Python API and the CLI.

For each fault -- SQLite locked by another process (far longer than the recorder waits), the
disk full, the database file deleted, PostgreSQL unreachable -- the run powers down, ends
`error` with the database's reason, and after `bringup db replay` every event the run published
(everything a progress view showed) is in the database exactly once.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from polling import wait_until
from simlab_state import outputs_on
from sqlalchemy import select

from bringup.api import run_runbook
from bringup.db.engine import make_engine
from bringup.db.models import EventLogRow, MeasurementRow, RailSampleRow, Run, Step
from bringup.events import ConsoleLine, Log, Measurement, RailSample, RunEvent, StepFinished
from bringup.simlab import SimLab

BRINGUP = shutil.which("bringup", path=str(Path(sys.executable).parent))
# The recorder's lock wait in these tests: short, so a 120 s lock is "past it" in a second.
LOCK_TIMEOUT_S = "0.2"
RUNBOOK = """name: db-fault
steps:
  - step: power_on
  - step: measure
    rail: VDD_CORE
    quantity: voltage
  - step: wait
    seconds: {wait}
  - step: measure
    rail: VDD_CORE
    quantity: current
  - step: power_off
"""


@pytest.fixture
def station(simlab: SimLab, tmp_path: Path) -> Path:
    path = tmp_path / "station.yaml"
    text_ = re.sub(r'(resource: "[^"]+")', r"\1, timeout_s: 0.5", simlab.station_text())
    path.write_text(text_)
    return path


@pytest.fixture(autouse=True)
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRINGUP_SPOOL", raising=False)  # the real places: beside the file, per user
    monkeypatch.setenv("BRINGUP_DB_LOCK_TIMEOUT_S", LOCK_TIMEOUT_S)
    monkeypatch.setenv("BRINGUP_DB_CONNECT_TIMEOUT_S", "2")


def runbook(tmp_path: Path, wait_s: float = 30.0) -> Path:
    path = tmp_path / "db-fault.yaml"
    path.write_text(RUNBOOK.format(wait=wait_s))
    return path


def run_with_fault(tmp_path: Path, station: Path, db_url: str, fault: Callable[[], None]) -> tuple:
    """Run the runbook; `fault` strikes once the first measurement is published."""
    published: list[RunEvent] = []
    struck = threading.Event()

    def watch(event: RunEvent) -> None:
        published.append(event)
        if isinstance(event, Measurement) and not struck.is_set():
            struck.set()
            fault()

    report = run_runbook(runbook(tmp_path), station, "SIM-0001", db_url=db_url, watchers=[watch], monitor_hz=20)
    assert struck.is_set(), "the fault never struck"
    return report, published


def assert_every_event_recorded_once(db_url: str, run_id: str, published: list[RunEvent]) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            measured = conn.execute(select(MeasurementRow.step_index, MeasurementRow.name, MeasurementRow.value,
                                           MeasurementRow.time).where(MeasurementRow.run_id == run_id)).all()
            rails = conn.execute(select(RailSampleRow.rail, RailSampleRow.volts, RailSampleRow.time)
                                 .where(RailSampleRow.run_id == run_id)).all()
            steps = dict(conn.execute(select(Step.index, Step.status).where(Step.run_id == run_id)).all())
            lines = conn.execute(select(EventLogRow.text).where(EventLogRow.run_id == run_id,
                                                                EventLogRow.kind != "run")).all()
    finally:
        engine.dispose()
    shown = [e for e in published if e.run_id == run_id]
    assert Counter(tuple(r) for r in measured) == Counter(
        (e.step_index, e.name, e.value, e.ts) for e in shown if isinstance(e, Measurement))
    assert Counter(tuple(r) for r in rails) == Counter(
        (e.rail, e.volts, e.ts) for e in shown if isinstance(e, RailSample))
    assert steps == {e.index: str(e.status) for e in shown if isinstance(e, StepFinished)}
    assert len(lines) == sum(isinstance(e, ConsoleLine | Log) for e in shown)


def run_row(db_url: str, run_id: str) -> tuple[str, str]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(select(Run.status, Run.reason).where(Run.id == run_id)).one())
    finally:
        engine.dispose()


def replay(db_url: str) -> str:
    done = subprocess.run([BRINGUP, "db", "replay", "--db", db_url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class SqliteLockHolder:
    """Another process holding SQLite's write lock (BEGIN EXCLUSIVE) for up to 120 s."""

    SCRIPT = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30); "
              "sys.stdin.readline(); c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()")

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(path)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def lock(self) -> None:
        self.process.stdin.write("lock\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        self.process.stdin.close()
        self.process.wait(120)  # the lock's longest life: it is released at once here
        self.process.stdout.close()


needs_cli = pytest.mark.skipif(BRINGUP is None, reason="the bringup console script is not installed")


@needs_cli
def test_sqlite_locked_by_another_process_ends_the_run_and_replay_records_everything(simlab, station, tmp_path):
    db = tmp_path / "lab.db"
    url = f"sqlite:///{db}"
    make_engine(url).dispose()
    holder = SqliteLockHolder(db)
    try:
        report, published = run_with_fault(tmp_path, station, url, holder.lock)
        assert outputs_on(simlab) == []
        assert report.status == "error"
        assert "database is locked" in report.reason and "bringup db replay" in report.reason
    finally:
        holder.release()

    out = replay(url)
    assert f"run {report.run_id}" in out and "status error" in out
    assert run_row(url, report.run_id)[0] == "error"
    assert "database is locked" in run_row(url, report.run_id)[1]
    assert_every_event_recorded_once(url, report.run_id, published)
    assert "nothing to replay" in replay(url)  # exactly once: a second replay finds nothing


@needs_cli
def test_the_database_file_deleted_mid_run_is_not_recreated_and_replay_restores_the_run(simlab, station, tmp_path):
    db = tmp_path / "lab.db"
    url = f"sqlite:///{db}"

    def delete() -> None:
        for path in (db, db.with_name("lab.db-wal"), db.with_name("lab.db-shm")):
            path.unlink(missing_ok=True)

    report, published = run_with_fault(tmp_path, station, url, delete)

    assert outputs_on(simlab) == []
    assert report.status == "error" and "was deleted while recording" in report.reason
    assert not db.exists(), "a new, empty database was created under the run"
    replay(url)  # into a database recreated on purpose
    assert run_row(url, report.run_id)[0] == "error"
    assert_every_event_recorded_once(url, report.run_id, published)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("needs root to mount a small tmpfs (a full disk is simulated with a real one)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@needs_cli
def test_a_full_disk_ends_the_run_and_the_journal_keeps_everything(simlab, station, tmp_path, small_disk):
    db = small_disk / "lab.db"
    url = f"sqlite:///{db}"
    filler = small_disk / "filler"

    def fill_the_disk() -> None:
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass  # ENOSPC: the disk is full

    report, published = run_with_fault(tmp_path, station, url, fill_the_disk)

    assert outputs_on(simlab) == []
    assert report.status == "error"
    assert "full" in report.reason, report.reason
    filler.unlink()  # the operator frees space
    replay(url)
    assert run_row(url, report.run_id)[0] == "error"
    assert_every_event_recorded_once(url, report.run_id, published)


class CuttableProxy:
    """A TCP proxy to PostgreSQL that the test can cut (every connection dropped, no new ones)."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.is_cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.is_cut:
                    client.close()
                    return
                server = socket.create_connection(self.target)
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self.lock:
            self.is_cut = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # the real server, its own schema
@needs_cli
def test_postgres_unreachable_mid_run_ends_the_run_and_replay_records_everything(
    simlab, station, tmp_path, monkeypatch, database
):
    schema = database.connect_args["options"].split("=", 1)[1]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # this test's own per-user spool
    proxy = CuttableProxy(("127.0.0.1", 5432))
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test?options=-csearch_path%3D{schema}"
    make_engine(url).dispose()  # the schema, migrated
    try:
        report, published = run_with_fault(tmp_path, station, url, proxy.cut)
        assert outputs_on(simlab) == []
        assert report.status == "error"
        assert "stopped taking writes" in report.reason, report.reason
        restored = CuttableProxy(("127.0.0.1", 5432), port=proxy.port)  # the network is back
        try:
            out = replay(url)
            assert f"run {report.run_id}" in out
            assert run_row(url, report.run_id)[0] == "error"
            assert_every_event_recorded_once(url, report.run_id, published)
        finally:
            restored.cut()
    finally:
        proxy.cut()


@needs_cli
def test_bringup_run_exits_3_in_one_line_when_sqlite_stays_locked(simlab, station, tmp_path):
    db = tmp_path / "lab.db"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    env = {**os.environ, "BRINGUP_DB_LOCK_TIMEOUT_S": LOCK_TIMEOUT_S, "NO_COLOR": "1", "COLUMNS": "300"}
    run = subprocess.Popen([BRINGUP, "run", str(runbook(tmp_path)), "--station", str(station), "--chip",
                            "SIM-0001", "--db", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env)

    def running() -> bool:
        with engine.connect() as conn:
            return conn.execute(select(Run.status)).scalar() == "running"

    holder = None
    try:
        wait_until(running, timeout=60, what="the run to start recording")
        holder = SqliteLockHolder(db)
        holder.lock()
        out, err = run.communicate(timeout=120)
    finally:
        if holder is not None:
            holder.release()
        run.kill() if run.poll() is None else None
    engine.dispose()

    assert run.returncode == 3, out + err
    assert "Traceback" not in out + err
    assert err.strip() == "", err  # the progress view says why, once
    assert re.search(r"run error: recording stopped: .*database is locked", out), out
    assert outputs_on(simlab) == []
    assert "status error" in replay(url)
