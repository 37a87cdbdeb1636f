"""The station lease: one run holds a bench at a time.

A lease is an OS file lock (`fcntl.flock`, exclusive) on `<lease dir>/<station name>.lock`,
held for the run's whole lifetime. The lock file also says who holds it (run id, host, pid)
so that a second run is refused with a sentence naming the owner, before it touches any
instrument. The kernel drops a flock when the last process holding it exits, however it
exits: a lease left by a dead run is free again, no clean-up needed. The run's watchdog
inherits the lock, so after a kill -9 the bench stays leased until the watchdog has powered
it down.

The lease folder is, in order: $BRINGUP_LEASE_DIR; /run/lock/bringup (the FHS place for locks
on devices that several programs share; tmpfs, so a reboot clears it); else
<tmp>/bringup-leases. Every user of a bench must see the same folder, so it is made
world-writable with the sticky bit, like /run/lock itself.

`bringup estop` never takes the lease (it must work while a run holds it); it leaves a note
next to the lock and, when the owner runs on this host and said it listens, sends it SIGUSR1
so that the run records an estop rather than a collapsed rail.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bringup.yamlfile import ConfigError

LEASE_DIR_ENV = "BRINGUP_LEASE_DIR"
SYSTEM_LOCK_DIR = Path("/run/lock")
OWNER_READ_TRIES = 20  # the owner writes its record just after locking: give it a moment


def lease_dir() -> Path:
    """The folder holding every station's lock file (see the module docstring)."""
    configured = os.environ.get(LEASE_DIR_ENV)
    if configured:
        folder = Path(configured)
    elif SYSTEM_LOCK_DIR.is_dir() and os.access(SYSTEM_LOCK_DIR, os.W_OK):
        folder = SYSTEM_LOCK_DIR / "bringup"
    else:
        folder = Path(tempfile.gettempdir()) / "bringup-leases"
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # another user's folder: keep what it is
            folder.chmod(0o1777)
    return folder


def _file_stem(station: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", station) or "_"


def lease_path(station: str) -> Path:
    return lease_dir() / f"{_file_stem(station)}.lock"


def estop_note_path(station: str) -> Path:
    return lease_dir() / f"{_file_stem(station)}.estop"


@dataclass(frozen=True)
class LeaseOwner:
    run_id: str
    host: str
    pid: int
    since: float
    listens_for_estop: bool = False  # the owner handles SIGUSR1 as "estop from another process"

    def describe(self) -> str:
        return f"run {self.run_id[:8]} (pid {self.pid} on host {self.host})"


class StationBusy(ConfigError):
    """Another run holds the station's lease; nothing was touched."""

    def __init__(self, station: str, owner: LeaseOwner | None) -> None:
        holder = owner.describe() if owner else "another process (it has not said which run yet)"
        super().__init__(station, None, f"station {station} is busy: {holder} holds it",
                         f"wait for that run to end, or stop it (`bringup estop --station ...` "
                         f"turns the bench off); the lock is {lease_path(station)}")

    def __str__(self) -> str:  # the sentence leads; a station name is not a file to point at
        return f"{self.message} — {self.fix}"


class StationLease:
    """`with StationLease("simlab", run_id):` holds the bench, or raises StationBusy at once."""

    def __init__(self, station: str, run_id: str, *, listens_for_estop: bool = False,
                 wait_for_same_run_s: float = 0.0) -> None:
        self.station = station
        # A resume of a run killed a moment ago finds the lease still held by that run's
        # watchdog, which is powering the bench down: wait (bounded) for it, for that run only.
        self.wait_for_same_run_s = wait_for_same_run_s
        self.owner = LeaseOwner(run_id, socket.gethostname(), os.getpid(), time.time(), listens_for_estop)
        self.path = lease_path(station)
        self._fd: int | None = None

    @property
    def fd(self) -> int:
        """The locked file descriptor (a child that inherits it holds the lease too)."""
        if self._fd is None:
            raise RuntimeError(f"the lease on {self.station} is not held")
        return self._fd

    def acquire(self) -> StationLease:
        deadline = time.monotonic() + self.wait_for_same_run_s
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                os.close(fd)
                owner = read_owner(self.path)
                if owner is None or owner.run_id != self.owner.run_id or time.monotonic() >= deadline:
                    raise StationBusy(self.station, owner) from None
                time.sleep(0.1)  # its watchdog is still powering the bench down
            except BaseException:
                os.close(fd)
                raise
        self._fd = fd
        self._write_owner()
        return self

    def _write_owner(self) -> None:
        record = json.dumps(asdict(self.owner)).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, record, 0)

    def release(self) -> None:
        """Forget the owner, then unlock (a reader never sees a stale owner on a free bench)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> StationLease:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


def read_owner(path: Path) -> LeaseOwner | None:
    """Who the lock file says holds it (None if it says nothing readable)."""
    for _ in range(OWNER_READ_TRIES):
        try:
            text = path.read_text(encoding="utf-8")
            if text:
                return LeaseOwner(**json.loads(text))
        except (OSError, ValueError, TypeError):
            pass
        time.sleep(0.01)  # bounded: the owner is between locking and writing its record
    return None


def current_owner(station: str) -> LeaseOwner | None:
    """The run holding `station` now, or None when the bench is free."""
    path = lease_path(station)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_owner(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def notify_estop(station: str) -> LeaseOwner | None:
    """Tell the run holding `station` (if any) that an estop is under way; returns that run.

    The note says which host and process pressed it; the run reads it when SIGUSR1 arrives.
    """
    note = {"host": socket.gethostname(), "pid": os.getpid(), "at": time.time()}
    with contextlib.suppress(OSError):
        estop_note_path(station).write_text(json.dumps(note), encoding="utf-8")
    owner = current_owner(station)
    if owner and owner.listens_for_estop and owner.host == socket.gethostname():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(owner.pid, signal.SIGUSR1)
    return owner


def refuse_if_recorded_running(engine: Any, station: str, run_id: str) -> None:
    """The database's side of the lease: a live run recorded on `station` by another process
    (on a shared database, another host, which no local lock can see) refuses this one too.

    Dead runs are marked first (bringup.db.recorder.mark_stale_runs: a stale heartbeat, or a
    process gone from this host), so only a run that is really going holds the station.
    """
    from sqlalchemy import select

    from bringup.db.models import Run
    from bringup.db.models import Station as StationRow
    from bringup.db.recorder import mark_stale_runs

    mark_stale_runs(engine)
    with engine.connect() as conn:
        row = conn.execute(
            select(Run.id, Run.host, Run.pid, Run.started_at)
            .join(StationRow, StationRow.id == Run.station_id)
            .where(StationRow.name == station, Run.status == "running", Run.id != run_id)
            .order_by(Run.started_at.desc())
        ).first()
    if row is not None:
        raise StationBusy(station, LeaseOwner(row.id, row.host or "?", row.pid, row.started_at))


def estop_reason(station: str | None) -> str:
    """What a run records when told of an estop: who pressed it, from where."""
    if station is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            note = json.loads(estop_note_path(station).read_text(encoding="utf-8"))
            return f"estop from host {note['host']} (pid {note['pid']})"
    return "estop from another process"
