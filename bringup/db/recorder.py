"""The Recorder: the only writer of results, a lossless subscriber of the event bus.

Events (and measurements from the fast scripted API) go into a bounded in-memory buffer; one
writer thread turns them into rows and writes them in batches, in one transaction per batch,
at least every ``commit_interval_s``. A full buffer makes the producer wait (back-pressure), so
nothing is ever dropped; ``close()`` -- also on leaving a ``with`` block, even by an exception
-- writes everything before returning. While a run is open the writer refreshes the run's
heartbeat about once a second, so that the next start can tell a dead run
(:func:`mark_stale_runs`) from a live one on another station.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from bringup import __version__
from bringup.db.models import Run, Step, Vector, VectorResultRow
from bringup.db.writer import RowWriter
from bringup.events import (
    EventBus,
    RunEvent,
    RunFinished,
    RunStarted,
    RunStatus,
    StepStarted,
    StepStatus,
    Subscription,
    new_run_id,
)

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER_S = 15.0
# Steps in these states are done; resume starts after the last of them.
COMPLETED_STEP_STATUSES = (StepStatus.PASSED, StepStatus.FAILED, StepStatus.SKIPPED)


class RecorderError(RuntimeError):
    """The recorder cannot write to the database; results after the failure are not stored."""


class Recorder:
    """Writes run events to the database in batches on its own thread.

    Use as a context manager (or call :meth:`close`) so that everything is written on exit.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        commit_interval_s: float = 0.25,
        max_pending: int = 50_000,
        batch_rows: int = 10_000,
        heartbeat_interval_s: float = 1.0,
        stale_after_s: float | None = DEFAULT_STALE_AFTER_S,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        # Told once, from the writer thread, when the database stops taking writes for good:
        # a run whose results cannot be recorded should end rather than go on unrecorded.
        self._on_failure = on_failure
        self.commit_interval_s = commit_interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self._max_pending = max_pending
        self._batch_rows = batch_rows
        self._rows = RowWriter(engine.dialect)

        self._cond = threading.Condition(threading.Lock())
        self._pending: list[Any] = []
        self._enqueued = 0
        self._committed = 0
        self._flush_requested = False
        self._closing = False
        self._failure: BaseException | None = None
        self._subscription: tuple[EventBus, Subscription] | None = None

        self.current_run_id: str | None = None
        self.current_step_index = 0

        if stale_after_s is not None:
            mark_stale_runs(engine, stale_after_s)
        self._writer = threading.Thread(target=self._write_loop, name="recorder", daemon=True)
        self._writer.start()

    # --- feeding -------------------------------------------------------------------------

    def attach(self, bus: EventBus, *, maxsize: int = 10_000) -> Subscription:
        """Subscribe losslessly to ``bus``: a slow database slows the publisher, never drops."""
        sub = bus.subscribe(self.handle, name="recorder", maxsize=maxsize, lossless=True)
        self._subscription = (bus, sub)
        return sub

    def handle(self, event: RunEvent) -> None:
        """Record one event (the bus handler; callable directly too)."""
        if isinstance(event, RunStarted):
            self.current_run_id = event.run_id
        elif isinstance(event, StepStarted):
            self.current_step_index = event.index
        self._enqueue(event)

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

        The fast path for scripted validation: no event object, one tuple per value. It is
        recorded against the current run and step unless ``run_id``/``step_index`` are given.
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
            )
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
            )
        )
        return run_id

    def finish_run(self, status: RunStatus, reason: str = "") -> None:
        if self.current_run_id is None:
            raise RecorderError("finish_run() without a run: call recorder.start_run(...) first")
        self.handle(RunFinished(run_id=self.current_run_id, status=status, reason=reason))

    def _enqueue(self, item: Any) -> None:
        with self._cond:
            while len(self._pending) >= self._max_pending and self._failure is None:
                self._cond.wait()  # back-pressure: the writer frees room
            if self._failure is not None:
                raise RecorderError(f"recorder stopped writing: {self._failure}")
            if self._closing:
                raise RecorderError("the recorder is closed; open a new Recorder to record")
            self._pending.append(item)
            self._enqueued += 1
            if len(self._pending) == self._batch_rows:
                self._cond.notify_all()

    # --- draining ------------------------------------------------------------------------

    def flush(self, timeout: float | None = 30.0) -> None:
        """Return once everything recorded before this call is committed."""
        with self._cond:
            target = self._enqueued
            self._flush_requested = True
            self._cond.notify_all()
            done = self._cond.wait_for(
                lambda: self._committed >= target or self._failure is not None, timeout
            )
            if self._failure is not None:
                raise RecorderError(f"recorder stopped writing: {self._failure}")
            if not done:
                raise RecorderError(
                    f"recorder could not commit {target - self._committed} rows to "
                    f"{self.engine.url.render_as_string()} within {timeout} s"
                )

    def close(self, timeout: float | None = 60.0) -> None:
        """Write everything still buffered (and on the bus), then stop the writer thread."""
        if self._subscription is not None:
            bus, sub = self._subscription
            self._subscription = None
            bus.unsubscribe(sub)  # delivers what the bus still holds for us
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._writer.join(timeout)
        if self._failure is not None:
            raise RecorderError(f"recorder stopped writing: {self._failure}")
        if self._writer.is_alive():
            raise RecorderError(f"recorder did not finish writing within {timeout} s")

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

    # --- the writer thread --------------------------------------------------------------

    def _write_loop(self) -> None:
        next_heartbeat = time.monotonic() + self.heartbeat_interval_s
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: len(self._pending) >= self._batch_rows or self._flush_requested or self._closing,
                    timeout=self.commit_interval_s,
                )
                batch, self._pending = self._pending, []
                self._flush_requested = False
                stopping = self._closing
                self._cond.notify_all()  # room for waiting producers
            heartbeat = time.monotonic() >= next_heartbeat
            if heartbeat:
                next_heartbeat = time.monotonic() + self.heartbeat_interval_s
            wanted = batch or (heartbeat and self._rows.open_runs)
            if wanted and not self._write_with_retry(batch, heartbeat):
                return
            with self._cond:
                self._committed += len(batch)
                self._cond.notify_all()
                if stopping and not self._pending:
                    return

    def _write_with_retry(self, batch: list[Any], heartbeat: bool, attempts: int = 5) -> bool:
        delay = 0.1
        for attempt in range(1, attempts + 1):
            open_runs = set(self._rows.open_runs)
            try:
                with self.engine.begin() as conn:
                    self._rows.write(conn, batch)
                    if heartbeat:
                        self._rows.write_heartbeats(conn)
                return True
            except (OperationalError, DBAPIError) as exc:
                self._rows.rolled_back(open_runs)
                transient = isinstance(exc, OperationalError) or exc.connection_invalidated
                if not transient or attempt == attempts:
                    self._fail(exc)
                    return False
                log.warning("recorder: write failed (%s), retry %d in %.1f s", exc, attempt, delay)
                time.sleep(delay)
                delay *= 2
            except Exception as exc:
                self._fail(exc)
                return False
        return False

    def _fail(self, exc: BaseException) -> None:
        log.error("recorder: giving up writing to %s: %s", self.engine.url, exc)
        with self._cond:
            self._failure = RecorderError(f"writing to {self.engine.url.render_as_string()} failed: {exc}")
            self._cond.notify_all()
        if self._on_failure is not None:
            self._on_failure(str(self._failure))


def mark_stale_runs(engine: Engine, stale_after_s: float = DEFAULT_STALE_AFTER_S) -> list[str]:
    """Mark ``interrupted`` every running run that is dead.

    Dead means: its heartbeat is older than ``stale_after_s`` (a crash anywhere), or it was
    recorded by a process on this host that no longer exists (found at once, no waiting). A
    live run on another station keeps its heartbeat fresh and is left alone. Returns the ids.
    """
    now = time.time()
    cutoff = now - stale_after_s
    here = socket.gethostname()
    with engine.begin() as conn:
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
