"""The Recorder: the only writer of results, a lossless subscriber of the event bus.

Events (and measurements from the fast scripted API) go into a bounded in-memory buffer. Two
threads take it from there, in batches:

- the *journal* thread appends each batch to the run's local journal (the spool,
  :mod:`bringup.db.journal`) and fsyncs it -- at once when a step or the run finishes, otherwise
  at least every ``commit_interval_s`` -- then hands the batch on;
- the *database* thread writes it in one transaction per batch (whole batches, up to about
  ``batch_rows`` events), together with how far the journal is now recorded (its watermark),
  so a later replay writes each event exactly once.
  It commits at most every ``db_interval_s`` (sooner for ``flush()``, ``close()``, a full batch
  or a producer waiting for room): a crash is covered by the journal's fsync, not the commit,
  and a transaction per step would cost a run more than its SCPI queries.

Each thread sleeps on its own condition (one lock): a producer's event wakes the journal only
when a batch is due, and the journal wakes the database thread only, so a run's step loop does
not share the GIL with threads woken for nothing.

A full buffer makes the producer wait (back-pressure), so nothing is dropped. When the database
stops taking writes (locked beyond the retries, disk full, server gone, the SQLite file deleted
or replaced) the recorder says so once through ``on_failure`` -- a run then ends ``error`` and
powers down -- and goes on journaling: `bringup db replay` (or the next start) writes the rest.
``close()`` waits for every event or raises :class:`RecorderError`; a journal whose events are
all in the database is deleted. While a run is open the database thread refreshes the run's
heartbeat, in the database server's time, about once a second.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from bringup import __version__
from bringup.db.engine import DatabaseError, database_identity, server_now, sqlite_file
from bringup.db.journal import JournalFile, encode_batch, spool_dir
from bringup.db.models import Run, Step, Vector, VectorResultRow
from bringup.db.writer import RowWriter
from bringup.events import (
    EventBus,
    RunEvent,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    Subscription,
    new_run_id,
)
from bringup.messages import first_line

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER_S = 15.0
DEFAULT_CLOSE_TIMEOUT_S = 120.0
# How long the scripted API (measurement, start_run, finish_run) waits for room in a full
# buffer before it says the database has stalled. Events from a bus wait without this bound:
# the bus's own back-pressure timeout faults the run first, and an event the bus handed over
# must not be dropped.
DEFAULT_ROOM_TIMEOUT_S = 60.0
# SQLite: a recorder that wrote at least this many rows refreshes the planner's statistics as
# it closes. One full batch: below it a run moves the table sizes too little to change a plan,
# and the ANALYZE's brief write lock is not worth taking on a file other stations share.
ANALYZE_AFTER_ROWS = 10_000
# Rows ANALYZE samples per index: ~3 ms on a 2M-row table instead of ~0.35 s unbounded.
ANALYSIS_LIMIT = 400
# Steps in these states are done; resume starts after the last of them.
COMPLETED_STEP_STATUSES = (StepStatus.PASSED, StepStatus.FAILED, StepStatus.SKIPPED)
# Milestones a crash must not lose: journaled and fsync'd without waiting for the group.
URGENT_EVENTS = frozenset({StepFinished, RunFinished})


class RecorderError(DatabaseError):
    """The recorder cannot write to the database; results after the failure are not stored."""


class DatabaseGone(RuntimeError):
    """The SQLite file was deleted or replaced under the recorder: never write to a new one."""


class Recorder:
    """Journals run events, then writes them to the database in batches on its own threads.

    Use as a context manager (or call :meth:`close`) so that everything is written on exit.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        commit_interval_s: float = 0.25,
        db_interval_s: float = 0.1,
        max_pending: int = 50_000,
        batch_rows: int = 10_000,
        heartbeat_interval_s: float = 1.0,
        stale_after_s: float | None = DEFAULT_STALE_AFTER_S,
        on_failure: Callable[[str], None] | None = None,
        spool: str | Path | None = None,
        write_attempts: int = 5,
        room_timeout_s: float = DEFAULT_ROOM_TIMEOUT_S,
    ) -> None:
        self.engine = engine
        # Told once, from a writer thread, when the database stops taking writes for good:
        # a run whose results cannot be recorded should end rather than go on unrecorded.
        self._on_failure = on_failure
        self.commit_interval_s = commit_interval_s
        self.db_interval_s = db_interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.spool = Path(spool) if spool else spool_dir(engine.url)
        self._max_pending = max_pending
        self._batch_rows = batch_rows
        self._write_attempts = write_attempts
        self.room_timeout_s = room_timeout_s
        self._rows = RowWriter(engine.dialect)
        self._db_file = sqlite_file(engine)
        self._db_identity_text = database_identity(engine)
        self._db_identity = _file_identity(self._db_file)

        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # progress: room freed, rows written, closing
        self._journal_wake = threading.Condition(lock)  # a batch is due for the journal
        self._db_wake = threading.Condition(lock)  # journaled work for the database thread
        self._flush_target = 0  # flush() waits for this many events: commit without pacing
        self._pending: list[Any] = []
        self._urgent = False
        self._to_db: list[tuple[list[Any], dict[str, tuple[str, int]]]] = []
        self._db_backlog = 0
        self._enqueued = 0
        self._written = 0  # committed to the database, or given up on (it is in the journal)
        self._journal_done = False
        self._closing = False
        self._closed = False
        self._told = False
        self._db_failure: str | None = None
        self._journal_failure: str | None = None
        self._subscription: tuple[EventBus, Subscription] | None = None
        self._journals: dict[str, JournalFile] = {}
        self._journals_lock = threading.Lock()
        self._kept: list[Path] = []

        self.current_run_id: str | None = None
        self.current_step_index = 0

        if stale_after_s is not None:
            recover(engine, stale_after_s, self.spool)
        self._journal_thread = threading.Thread(target=self._journal_loop, name="recorder-journal",
                                                daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="recorder", daemon=True)
        self._journal_thread.start()
        self._writer.start()

    # --- feeding -------------------------------------------------------------------------

    def attach(self, bus: EventBus, *, maxsize: int = 10_000) -> Subscription:
        """Subscribe losslessly to ``bus``: a slow database slows the publisher, never drops."""
        sub = bus.subscribe(self.handle, name="recorder", maxsize=maxsize, lossless=True)
        self._subscription = (bus, sub)
        return sub

    def handle(self, event: RunEvent, room_timeout_s: float | None = None) -> None:
        """Record one event (the bus handler; callable directly too). A full buffer makes the
        caller wait for room, at most ``room_timeout_s`` (None: until the recorder closes)."""
        kind = type(event)
        if kind is RunStarted:
            self.current_run_id = event.run_id
        elif kind is StepStarted:
            self.current_step_index = event.index  # type: ignore[attr-defined]
        # _enqueue, inlined: this runs once per event a run publishes.
        with self._cond:
            if len(self._pending) + self._db_backlog >= self._max_pending or self._closing:
                self._wait_for_room(room_timeout_s)
            self._pending.append(event)
            self._enqueued += 1
            if kind in URGENT_EVENTS or len(self._pending) == self._batch_rows:
                self._urgent = True
                self._journal_wake.notify()

    def measurement(
        self,
        name: str,
        value: float,
        units: str = "",
        low: float | None = None,
        high: float | None = None,
        *,
        vdd_core_v: float | None = None,
        core_mhz: float | None = None,
        temperature_c: float | None = None,
        step_index: int | None = None,
        run_id: str | None = None,
    ) -> bool | None:
        """Limit-check and record one measurement; returns passed (None when unlimited).

        The scripted API's shortcut: no event object, one tuple per value. It is recorded
        against the current run and step unless ``run_id``/``step_index`` are given.
        """
        if low is None and high is None:
            passed = None
        else:
            passed = (low is None or value >= low) and (high is None or value <= high)
        self._enqueue(
            (
                run_id or self.current_run_id or self._no_run(name),
                self.current_step_index if step_index is None else step_index,
                name,
                value,
                units,
                low,
                high,
                passed,
                time.time(),
                vdd_core_v,
                core_mhz,
                temperature_c,
            ),
            False,
        )
        return passed

    def _no_run(self, name: str) -> str:
        raise RecorderError(
            f"measurement {name!r} has no run to belong to: call recorder.start_run(...) first"
        )

    def start_run(
        self,
        chip_serial: str,
        *,
        station_name: str = "scripted",
        runbook_name: str = "scripted",
        runbook_text: str = "",
        operator: str = "",
        lot: str | None = None,
        wafer: int | None = None,
        die_x: int | None = None,
        die_y: int | None = None,
    ) -> str:
        """Open a run for scripted use and make it current; returns its run id."""
        run_id = new_run_id()
        self.handle(
            RunStarted(
                run_id=run_id,
                chip_serial=chip_serial,
                station_name=station_name,
                runbook_name=runbook_name,
                runbook_text=runbook_text,
                runbook_hash=hashlib.sha256(runbook_text.encode()).hexdigest(),
                operator=operator,
                software_version=__version__,
                lot=lot,
                wafer=wafer,
                die_x=die_x,
                die_y=die_y,
            ),
            self.room_timeout_s,
        )
        return run_id

    def finish_run(self, status: RunStatus, reason: str = "") -> None:
        if self.current_run_id is None:
            raise RecorderError("finish_run() without a run: call recorder.start_run(...) first")
        self.handle(RunFinished(run_id=self.current_run_id, status=status, reason=reason),
                    self.room_timeout_s)

    def _wait_for_room(self, timeout: float | None) -> None:
        """Back-pressure (the caller holds the lock): wait until the writers free room, at
        most ``timeout`` seconds (None: until they do or the recorder closes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self._pending) + self._db_backlog >= self._max_pending and not self._closing:
            # When the journal holds every row that takes room (nothing is with the database
            # thread), they must go out now, not at the next interval: the journal thread sleeps
            # through a bare notify until a batch is urgent or full. When the database thread
            # has rows, only its commit frees room: waking the journal then frees none, and its
            # wake woke this producer again -- a busy loop that starved the run's other threads
            # while the database stalled and halved the events path's throughput.
            if not self._db_backlog:
                self._urgent = True
            self._journal_wake.notify()
            self._db_wake.notify()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise RecorderError(
                    f"the database took no room for {timeout:g} s ({self._db_backlog} events "
                    f"waiting to be written): this one is not recorded; what came before is in "
                    f"the journal under {self.spool} (`bringup db replay` writes it)")
            self._cond.wait(left)
        if self._closing:
            raise RecorderError("the recorder is closed; open a new Recorder to record")

    def _enqueue(self, item: Any, urgent: bool) -> None:
        with self._cond:
            if len(self._pending) + self._db_backlog >= self._max_pending or self._closing:
                self._wait_for_room(self.room_timeout_s)
            self._pending.append(item)
            self._enqueued += 1
            if urgent or len(self._pending) == self._batch_rows:
                self._urgent = True
                self._journal_wake.notify()

    # --- draining ------------------------------------------------------------------------

    @property
    def failure(self) -> str | None:
        """Why the database stopped taking writes; None while it takes them."""
        return self._db_failure

    def flush(self, timeout: float | None = 30.0) -> None:
        """Return once everything recorded before this call is committed."""
        with self._cond:
            target = self._enqueued
            self._urgent = True
            self._flush_target = max(self._flush_target, target)
            self._journal_wake.notify()
            self._db_wake.notify()
            done = self._cond.wait_for(
                lambda: self._written >= target or self._db_failure is not None, timeout
            )
            if self._db_failure is not None:
                raise RecorderError(self._db_failure)
            if not done:
                raise RecorderError(
                    f"recorder could not commit {target - self._written} rows to "
                    f"{self.engine.url.render_as_string()} within {timeout} s"
                )

    def close(self, timeout: float = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Write everything still buffered (and on the bus), then stop; raise if it could not.

        Waits up to ``timeout`` s for the database. Whatever is not in it by then stays in the
        journal (its paths are in the error) for `bringup db replay`.
        """
        if self._closed:
            return
        self._closed = True
        if self._subscription is not None:
            bus, sub = self._subscription
            self._subscription = None
            bus.unsubscribe(sub, timeout)  # delivers what the bus still holds for us
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            self._journal_wake.notify()
            self._db_wake.notify()
        deadline = time.monotonic() + timeout
        self._journal_thread.join(max(0.0, deadline - time.monotonic()))
        self._writer.join(max(0.0, deadline - time.monotonic()))
        unfinished = self._journal_thread.is_alive() or self._writer.is_alive()
        with self._cond:
            missing = self._enqueued - self._written
        with self._journals_lock:
            journals, self._journals = list(self._journals.values()), {}
        for journal in journals:
            if unfinished or self.failure is not None:
                journal.close()  # the fd lock goes with it: replay may take the file now
                self._kept.append(journal.path)
            else:
                journal.retire()
        if self.failure is not None:
            raise RecorderError(f"{self.failure}{self._kept_note()}")
        if unfinished:
            raise RecorderError(
                f"recorder did not finish writing to {self.engine.url.render_as_string()} within "
                f"{timeout:g} s: {missing} event(s) not in the database{self._kept_note()}"
            )
        if self._written >= ANALYZE_AFTER_ROWS and self._db_file is not None:
            self._refresh_statistics()

    def _refresh_statistics(self) -> None:
        """SQLite: a bounded ANALYZE, so the history queries plan on the data as it is now.

        Not ``PRAGMA optimize``: before SQLite 3.46 (Python 3.11 ships 3.40) it skips a database
        that was never analyzed and tables this connection has not queried, which is every
        table here. Results are committed already, so a failure is only logged.
        """
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
                conn.exec_driver_sql("ANALYZE")
        except DBAPIError as exc:
            log.info("recorder: statistics not refreshed (%s); queries still work", first_line(exc))

    def _kept_note(self) -> str:
        if not self._kept:
            return ""
        paths = ", ".join(str(p) for p in self._kept)
        return f"; every event is kept in {paths}; `bringup db replay` writes them when the database is back"

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- resume support -----------------------------------------------------------------

    def last_completed_step(self, run_id: str) -> int | None:
        self.flush()
        return last_completed_step(self.engine, run_id)

    def recorded_vector_keys(self, run_id: str) -> set[tuple[int, str, int]]:
        self.flush()
        return recorded_vector_keys(self.engine, run_id)

    # --- the journal thread -------------------------------------------------------------

    def _journal_loop(self) -> None:
        while True:
            with self._cond:
                self._journal_wake.wait_for(
                    lambda: self._urgent or len(self._pending) >= self._batch_rows or self._closing,
                    timeout=self.commit_interval_s,
                )
                # At most one batch's rows per fsync and per transaction: under a flood the
                # database stays within a commit or two of the run, instead of one huge
                # transaction seconds behind it (PostgreSQL: ~75,000 rows, ~2 s).
                batch, self._pending = self._pending[:self._batch_rows], self._pending[self._batch_rows:]
                self._urgent = bool(self._pending)  # what is left (an urgent event, say) goes next
                stopping = self._closing
            marks = self._journal(batch) if batch else {}
            with self._cond:
                if batch:
                    if self._db_failure is None:
                        self._to_db.append((batch, marks))
                        self._db_backlog += len(batch)
                    else:
                        self._written += len(batch)  # only the journal takes it now
                if stopping and not self._pending:
                    self._journal_done = True
                self._db_wake.notify()
                self._cond.notify_all()  # rows given up on (database failed) count as written
                if self._journal_done:
                    return

    def _journal(self, batch: list[Any]) -> dict[str, tuple[str, int]]:
        """Append a batch to its runs' journals and fsync; returns each journal's new seq."""
        if self._journal_failure is not None:
            return {}
        by_run = _by_run(batch)
        marks: dict[str, tuple[str, int]] = {}
        try:
            with self._journals_lock:
                for run_id, items in by_run.items():
                    journal = self._journals.get(run_id)
                    if journal is None:
                        journal = JournalFile(self.spool, run_id, self._db_identity_text)
                        self._journals[run_id] = journal
                    journal.append(encode_batch(items), len(items))
                    marks[journal.journal_id] = (run_id, journal.seq)
                for journal in self._journals.values():
                    if journal.journal_id in marks:
                        journal.sync()
        except Exception as exc:  # JournalError, OSError, or a bug: never a silently dead thread
            self._fail_journal(exc)
            return {}
        return marks

    def _fail_journal(self, exc: BaseException) -> None:
        # Nothing is lost while the database takes writes, so the run goes on; but say it loudly:
        # from here a database failure would lose what it has not committed.
        self._journal_failure = f"cannot write the recorder's journal in {self.spool}: {first_line(exc)}"
        log.error("recorder: %s; results go to the database only, unprotected", self._journal_failure)

    # --- the database thread -----------------------------------------------------------

    def _write_loop(self) -> None:
        next_heartbeat = time.monotonic() + self.heartbeat_interval_s
        next_commit = time.monotonic()
        while True:
            with self._cond:
                self._wait_for_db_work(next_heartbeat, next_commit)
                work, self._to_db = self._next_transaction(self._to_db)
                finished = self._journal_done
            next_commit = time.monotonic() + self.db_interval_s
            heartbeat = time.monotonic() >= next_heartbeat
            if heartbeat:
                next_heartbeat = time.monotonic() + self.heartbeat_interval_s
            batch = work[0][0] if len(work) == 1 else [item for items, _ in work for item in items]
            if self._db_failure is None and (batch or (heartbeat and self._rows.open_runs)):
                marks = {journal: mark for _, done in work for journal, mark in done.items()}
                if self._write_with_retry(batch, marks, heartbeat):
                    self._retire_finished(batch, marks)
            with self._cond:
                self._written += len(batch)
                self._db_backlog -= len(batch)
                self._cond.notify_all()
                if finished and not self._to_db:
                    return

    def _next_transaction(self, queued: list[Any]) -> tuple[list[Any], list[Any]]:
        """Journaled batches for one transaction, whole (each carries its journal mark), up to
        about one batch's rows; and the rest."""
        rows = taken = 0
        while taken < len(queued) and (taken == 0 or rows + len(queued[taken][0]) <= self._batch_rows):
            rows += len(queued[taken][0])
            taken += 1
        return queued[:taken], queued[taken:]

    def _wait_for_db_work(self, next_heartbeat: float, next_commit: float) -> None:
        """(Lock held) Sleep until journaled work is due, the heartbeat is due, or the end."""
        while not self._journal_done:
            now = time.monotonic()
            if now >= next_heartbeat or (self._to_db and (now >= next_commit or self._db_due())):
                return
            wake_at = min(next_heartbeat, next_commit) if self._to_db else next_heartbeat
            self._db_wake.wait(wake_at - now)

    def _db_due(self) -> bool:
        """(Lock held) Work that must not wait for the commit interval."""
        return (self._closing or self._flush_target > self._written
                or self._db_backlog >= self._batch_rows
                or len(self._pending) + self._db_backlog >= self._max_pending)

    def _write_with_retry(self, batch: list[Any], marks: dict[str, tuple[str, int]], heartbeat: bool) -> bool:
        delay = 0.1
        for attempt in range(1, self._write_attempts + 1):
            open_runs = set(self._rows.open_runs)
            try:
                self._check_db_file()
                with self.engine.begin() as conn:
                    self._rows.write(conn, batch)
                    if heartbeat:
                        self._rows.write_heartbeats(conn)
                    self._rows.write_watermarks(conn, marks)
                    self._rows.notify(conn, {run_id for run_id, _ in marks.values()})
                return True
            except (OperationalError, DBAPIError) as exc:
                self._rows.rolled_back(open_runs)
                transient = isinstance(exc, OperationalError) or exc.connection_invalidated
                if not transient or attempt == self._write_attempts:
                    self._fail(exc)
                    return False
                # Info, not warning: a retry that works is routine, and one that does not is
                # reported once, through on_failure, as the run's reason.
                log.info("recorder: write failed (%s), retry %d in %.1f s", first_line(exc), attempt, delay)
                time.sleep(delay)
                delay *= 2
            except Exception as exc:
                self._rows.rolled_back(open_runs)
                self._fail(exc)
                return False
        return False

    def _check_db_file(self) -> None:
        """SQLite: refuse to write when the file we opened is gone or is another file now."""
        if self._db_file is None:
            return
        now = _file_identity(self._db_file)
        if now != self._db_identity:
            what = "deleted" if now is None else "replaced by another file"
            raise DatabaseGone(
                f"the database file {self._db_file} was {what} while recording; not creating a new one"
            )

    def _retire_finished(self, batch: list[Any], marks: dict[str, tuple[str, int]]) -> None:
        """A finished run whose journal is wholly in the database needs its journal no more."""
        finished = {item.run_id for item in batch if type(item) is RunFinished}
        if not finished:
            return
        with self._journals_lock:
            for run_id in finished:
                journal = self._journals.get(run_id)
                if journal is not None and marks.get(journal.journal_id, (run_id, -1))[1] == journal.seq:
                    del self._journals[run_id]
                    journal.retire()

    def _fail(self, exc: BaseException) -> None:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        detail = first_line(cause)
        self._db_failure = (
            f"the results database {self.engine.url.render_as_string()} stopped taking writes: "
            f"{type(cause).__name__}: {detail}"
        )
        log.log(logging.INFO if self._on_failure else logging.ERROR, "recorder: %s", self._db_failure)
        with self._cond:
            dropped = sum(len(items) for items, _ in self._to_db)
            self._to_db = []
            self._db_backlog -= dropped
            self._written += dropped  # they are in the journal, which replay writes
            self._cond.notify_all()
        if self._journal_failure is None:
            kept = f"every event is kept in the journal in {self.spool} for `bringup db replay`"
        else:
            kept = f"and {self._journal_failure}: results from here on are lost"
        self._tell(f"{self._db_failure}; {kept}")

    def _tell(self, why: str) -> None:
        if self._on_failure is not None and not self._told:
            self._told = True
            self._on_failure(why)


_run_id_of = operator.attrgetter("run_id")


def _by_run(batch: list[Any]) -> dict[str, list[Any]]:
    """The batch split by run, in order (almost always one run: the batch itself)."""
    try:
        runs = set(map(_run_id_of, batch))
    except AttributeError:  # fast-path measurement tuples carry their run first
        runs = set()
    if len(runs) == 1:
        return {runs.pop(): batch}
    by_run: dict[str, list[Any]] = {}
    for item in batch:
        by_run.setdefault(item[0] if type(item) is tuple else item.run_id, []).append(item)
    return by_run


def _file_identity(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def recover(engine: Engine, stale_after_s: float = DEFAULT_STALE_AFTER_S, spool: Path | None = None) -> None:
    """What every writing command does first: replay journals dead processes left, then mark
    dead runs ``interrupted`` -- in that order, so a run's verdict and its last steps come from
    its journal before anything (a resume, say) reads the database."""
    from bringup.db.replay import replay_spool

    try:
        for replayed in replay_spool(engine, spool):
            log.warning("replayed %s", replayed.describe())
    except Exception as exc:  # the database may still be down; the journals wait for the next try
        log.warning("could not replay the journals in %s yet: %s", spool or spool_dir(engine.url),
                    first_line(exc))
    mark_stale_runs(engine, stale_after_s)


def mark_stale_runs(engine: Engine, stale_after_s: float = DEFAULT_STALE_AFTER_S) -> list[str]:
    """Mark ``interrupted`` every running run that is dead.

    Dead means: its heartbeat is older than ``stale_after_s`` (a crash anywhere), or it was
    recorded by a process on this host that no longer exists (found at once, no waiting). A
    live run on another station keeps its heartbeat fresh and is left alone. Returns the ids.
    """
    here = socket.gethostname()
    with engine.begin() as conn:
        # The database server's clock, as the heartbeats are: hosts' clocks may disagree.
        now = conn.execute(select(server_now(engine.dialect.name))).scalar_one()
        cutoff = now - stale_after_s
        running = conn.execute(
            select(Run.id, Run.heartbeat_at, Run.host, Run.pid).where(Run.status == RunStatus.RUNNING.value)
        ).all()
        stale = [
            (run_id, heartbeat_at)
            for run_id, heartbeat_at, host, pid in running
            if heartbeat_at < cutoff or (host == here and pid and not _process_alive(pid))
        ]
        for run_id, heartbeat_at in stale:
            conn.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RunStatus.RUNNING.value)
                .values(
                    status=RunStatus.INTERRUPTED.value,
                    ended_at=heartbeat_at,
                    reason=(
                        f"recording stopped without an end (last heartbeat {now - heartbeat_at:.0f} s "
                        "ago): the process crashed or was killed; `bringup resume` continues it"
                    ),
                )
            )
    if stale:
        log.warning("marked %d stale run(s) interrupted: %s", len(stale), [r for r, _ in stale])
    return [run_id for run_id, _ in stale]


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def last_completed_step(engine: Engine, run_id: str) -> int | None:
    """Index of the last step of ``run_id`` that finished (passed, failed or skipped)."""
    with engine.connect() as conn:
        return conn.execute(
            select(Step.index)
            .where(Step.run_id == run_id, Step.status.in_([s.value for s in COMPLETED_STEP_STATUSES]))
            .order_by(Step.index.desc())
            .limit(1)
        ).scalar_one_or_none()


def recorded_vector_keys(engine: Engine, run_id: str) -> set[tuple[int, str, int]]:
    """(step index, vector content hash, repeat) of every vector result recorded for a run."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(VectorResultRow.step_index, Vector.content_hash, VectorResultRow.repeat)
            .join(Vector, Vector.id == VectorResultRow.vector_id)
            .where(VectorResultRow.run_id == run_id)
        )
        return {(step, content_hash, repeat) for step, content_hash, repeat in rows}


def mark_run_interrupted(engine: Engine, run_id: str, reason: str) -> bool:
    """The run's watchdog found its process dead: mark it ``interrupted`` with why, if it was
    still running (a run that recorded its end keeps it). True when the row was changed."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == RunStatus.RUNNING.value)
            .values(status=RunStatus.INTERRUPTED.value, ended_at=time.time(), reason=reason)
        ).rowcount
    return bool(changed)
