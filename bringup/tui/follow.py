"""Following a run through the database: rows recorded by another process, turned back into events.

`bringup tui --attach RUN` shows a run that another process (or another station) records. It
reads only: the engine is opened without migrations and nothing is ever written. Each poll
reads the rows past the last ids seen and hands them, as run events, to the same LiveRun the
live screen draws from. On PostgreSQL the follower LISTENs on `bringup_results` (the recorder
NOTIFYs it with the run id after each committed batch) and wakes at once; it still polls every
`fallback_s`, so it works against a recorder that never notifies. On SQLite it polls every
`poll_s`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from bringup.db.models import (
    Chip,
    EventLogRow,
    MeasurementRow,
    RailSampleRow,
    Run,
    Runbook,
    Station,
    Step,
    SweepPointRow,
    ThermalSampleRow,
    Vector,
    VectorResultRow,
)
from bringup.events import (
    Conditions,
    ConsoleLine,
    Log,
    Measurement,
    RailSample,
    RunEvent,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    SweepOutcome,
    SweepPoint,
    ThermalSample,
    VectorResult,
)

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "bringup_results"
SQLITE_POLL_S = 0.1  # the lag budget is 0.5 s; a poll is a few indexed selects
FALLBACK_POLL_S = 0.25  # PostgreSQL without a notify (a recorder that never sends one): still < 0.5 s
ROWS_PER_READ = 5000


class AttachError(RuntimeError):
    """The run to follow cannot be found or the database cannot be read."""


def open_read_only(url: str) -> Engine:
    """The database at `url`, for reading; a SQLite file that is not there is an error, not created."""
    from bringup.tui import database

    try:
        return database.open_read_only(url, "pass the run's database with --db")
    except database.NoDatabaseError as exc:
        raise AttachError(str(exc)) from None


@dataclass
class _Cursor:
    """How far each table has been read for one run."""

    started: bool = False
    step_status: dict[int, str] = field(default_factory=dict)
    last_ids: dict[str, int] = field(default_factory=dict)


class RunFollower:
    """Feeds `watcher` the events of run `run_id` as its rows are committed, until the run ends."""

    def __init__(self, engine: Engine, run_id: str, watcher: Callable[[Any], None], *,
                 poll_s: float = SQLITE_POLL_S, fallback_s: float = FALLBACK_POLL_S) -> None:
        self.engine = engine
        self.run_id = run_id
        self.watcher = watcher
        self.poll_s = poll_s
        self.fallback_s = fallback_s
        self.error: str | None = None
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._cursor = _Cursor()
        self._thread = threading.Thread(target=self._loop, name=f"follow-{run_id[:8]}", daemon=True)

    def start(self) -> RunFollower:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        listener = _Listener.open(self.engine, self.run_id)
        try:
            while not self._stop.is_set():
                try:
                    more = self.poll()
                except Exception as exc:  # a database that went away: say so, keep trying
                    from bringup.messages import described

                    self.error = described(exc)
                    self.watcher(Log(run_id=self.run_id, text=f"database: {self.error}", level="warning"))
                    more = False
                if self.finished.is_set():
                    return
                if not more:
                    self._wait(listener)
        finally:
            if listener is not None:
                listener.close()

    def _wait(self, listener: _Listener | None) -> None:
        if listener is None:
            self._stop.wait(self.poll_s)
        else:
            listener.wait(self.fallback_s)

    def poll(self) -> bool:
        """Read what was committed since the last poll; returns True when a read hit its page size."""
        with self.engine.connect() as conn:
            run = conn.execute(_run_query(self.run_id)).one_or_none()
            if run is None:
                raise AttachError(f"no run {self.run_id} in this database")
            events: list[RunEvent] = []
            if not self._cursor.started:
                events.append(_run_started(run))
                self._cursor.started = True
            steps = conn.execute(
                select(Step.index.label("position"), Step.name, Step.kind, Step.status, Step.message,
                       Step.started_at, Step.ended_at)
                .where(Step.run_id == self.run_id).order_by(Step.index)).all()
            events += self._steps_started(steps)
            full = False
            for rows in self._new_rows(conn):
                events += rows
                full = full or len(rows) >= ROWS_PER_READ
            events += self._steps_finished(steps)
            if run.status != "running" and not full:
                events.append(RunFinished(run_id=self.run_id, status=RunStatus(run.status), reason=run.reason,
                                          ts=run.ended_at or run.heartbeat_at))
        for event in events:
            self.watcher(event)
        if events and isinstance(events[-1], RunFinished):
            self.finished.set()
        return full

    def _steps_started(self, steps: Any) -> list[RunEvent]:
        out: list[RunEvent] = []
        for step in steps:
            if step.position not in self._cursor.step_status:
                self._cursor.step_status[step.position] = "running"
                out.append(StepStarted(run_id=self.run_id, index=step.position, name=step.name,
                                       kind=step.kind, ts=step.started_at))
        return out

    def _steps_finished(self, steps: Any) -> list[RunEvent]:
        out: list[RunEvent] = []
        for step in steps:
            if step.status != "running" and self._cursor.step_status.get(step.position) == "running":
                self._cursor.step_status[step.position] = step.status
                out.append(StepFinished(run_id=self.run_id, index=step.position,
                                        status=StepStatus(step.status), message=step.message,
                                        ts=step.ended_at or step.started_at))
        return out

    def _new_rows(self, conn: Any) -> Iterator[list[RunEvent]]:
        for table, query, to_event in _TABLES:
            last = self._cursor.last_ids.get(table, 0)
            rows = conn.execute(query(self.run_id, last).limit(ROWS_PER_READ)).all()
            if rows:
                self._cursor.last_ids[table] = rows[-1].id
            yield [to_event(self.run_id, row) for row in rows]


# ---------------------------------------------------------------------- rows -> events
def _run_query(run_id: str) -> Any:
    return (select(Run.id, Run.status, Run.reason, Run.started_at, Run.ended_at, Run.heartbeat_at,
                   Run.operator, Chip.serial, Chip.lot, Chip.wafer, Chip.die_x, Chip.die_y,
                   Station.name.label("station"), Runbook.name.label("runbook"),
                   Runbook.content_hash, Runbook.text)
            .join(Chip, Chip.id == Run.chip_id).join(Station, Station.id == Run.station_id)
            .join(Runbook, Runbook.id == Run.runbook_id).where(Run.id == run_id))


def _run_started(run: Any) -> RunStarted:
    return RunStarted(run_id=run.id, chip_serial=run.serial, station_name=run.station,
                      runbook_name=run.runbook, runbook_hash=run.content_hash, runbook_text=run.text,
                      operator=run.operator, lot=run.lot, wafer=run.wafer, die_x=run.die_x, die_y=run.die_y,
                      ts=run.started_at)


def _conditions(row: Any) -> Conditions:
    return Conditions(vdd_core_v=row.vdd_core_v, core_mhz=row.core_mhz, temperature_c=row.temperature_c)


def _measurements(run_id: str, last: int) -> Any:
    m = MeasurementRow
    return (select(m.id, m.step_index, m.name, m.value, m.units, m.low, m.high, m.passed, m.time,
                   m.vdd_core_v, m.core_mhz, m.temperature_c)
            .where(m.run_id == run_id, m.id > last).order_by(m.id))


def _measurement(run_id: str, m: Any) -> Measurement:
    return Measurement(run_id=run_id, step_index=m.step_index, name=m.name, value=m.value, units=m.units,
                       low=m.low, high=m.high, passed=m.passed, conditions=_conditions(m), ts=m.time)


def _vector_results(run_id: str, last: int) -> Any:
    r = VectorResultRow
    return (select(r.id, r.step_index, r.passed, r.first_mismatch_addr, r.flipped_bits, r.repeat, r.time,
                   r.vdd_core_v, r.core_mhz, r.temperature_c, Vector.name, Vector.content_hash)
            .join(Vector, Vector.id == r.vector_id).where(r.run_id == run_id, r.id > last).order_by(r.id))


def _vector_result(run_id: str, row: Any) -> VectorResult:
    return VectorResult(run_id=run_id, step_index=row.step_index, vector_name=row.name,
                        content_hash=row.content_hash, passed=row.passed, expected=(), actual=(),
                        first_mismatch_addr=row.first_mismatch_addr, flipped_bits=row.flipped_bits,
                        repeat=row.repeat, conditions=_conditions(row), ts=row.time)


def _rail_samples(run_id: str, last: int) -> Any:
    r = RailSampleRow
    return select(r.id, r.rail, r.volts, r.amps, r.time).where(r.run_id == run_id, r.id > last).order_by(r.id)


def _rail_sample(run_id: str, row: Any) -> RailSample:
    return RailSample(run_id=run_id, rail=row.rail, volts=row.volts, amps=row.amps, ts=row.time)


def _event_log(run_id: str, last: int) -> Any:
    r = EventLogRow
    return select(r.id, r.kind, r.text, r.time).where(r.run_id == run_id, r.id > last).order_by(r.id)


def _sweep_points(run_id: str, last: int) -> Any:
    p = SweepPointRow
    return (select(p.id, p.step_index, p.vdd_core_v, p.core_mhz, p.temperature_c, p.die_c, p.outcome,
                   p.confirmed, p.vectors_passed, p.vectors_run, p.time, p.done, p.total)
            .where(p.run_id == run_id, p.id > last).order_by(p.id))


def _sweep_point(run_id: str, row: Any) -> SweepPoint:
    # A row recorded before migration 0009 has no progress (NULL): 0 is the event's "not told",
    # so the map still fills in and the bar shows a count without a total.
    return SweepPoint(run_id=run_id, step_index=row.step_index, conditions=_conditions(row),
                      outcome=SweepOutcome(row.outcome), confirmed=row.confirmed, die_c=row.die_c,
                      vectors_passed=row.vectors_passed, vectors_run=row.vectors_run,
                      done=row.done or 0, total=row.total or 0, ts=row.time)


def _thermal_samples(run_id: str, last: int) -> Any:
    t = ThermalSampleRow
    return (select(t.id, t.time, t.setpoint_c, t.forcer_c, t.die_c, t.at_temperature, t.head)
            .where(t.run_id == run_id, t.id > last).order_by(t.id))


def _thermal_sample(run_id: str, row: Any) -> ThermalSample:
    return ThermalSample(run_id=run_id, setpoint_c=row.setpoint_c, forcer_c=row.forcer_c, die_c=row.die_c,
                         at_temperature=row.at_temperature, head=row.head, ts=row.time)


def _log_line(run_id: str, row: Any) -> RunEvent:
    if row.kind.startswith("console-"):
        direction = row.kind.removeprefix("console-")
        return ConsoleLine(run_id=run_id, text=row.text, direction=direction, ts=row.time)
    level = row.kind.removeprefix("log-") if row.kind.startswith("log-") else "info"
    return Log(run_id=run_id, text=row.text, level=level, ts=row.time)


_TABLES: tuple[tuple[str, Callable[[str, int], Any], Callable[[str, Any], RunEvent]], ...] = (
    ("measurement", _measurements, _measurement),
    ("vector_result", _vector_results, _vector_result),
    ("sweep_point", _sweep_points, _sweep_point),
    ("rail_sample", _rail_samples, _rail_sample),
    ("thermal_sample", _thermal_samples, _thermal_sample),
    ("event_log", _event_log, _log_line),
)


# ---------------------------------------------------------------------- PostgreSQL LISTEN
class _Listener:
    """A LISTEN connection on PostgreSQL: `wait` returns early when our run's batch is committed."""

    def __init__(self, raw: Any, run_id: str) -> None:
        self._raw = raw
        self._conn = raw.driver_connection
        self._run_id = run_id

    @classmethod
    def open(cls, engine: Engine, run_id: str) -> _Listener | None:
        if engine.dialect.name != "postgresql":
            return None
        try:
            raw = engine.raw_connection()
            raw.driver_connection.autocommit = True
            raw.driver_connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception as exc:  # polling still works without it
            log.warning("cannot LISTEN on %s (%s); polling instead", NOTIFY_CHANNEL, exc)
            return None
        return cls(raw, run_id)

    def wait(self, timeout: float) -> None:
        try:
            for notify in self._conn.notifies(timeout=timeout):
                if notify.payload in ("", self._run_id):
                    return
        except Exception as exc:  # the connection dropped: fall back to the timer
            log.warning("LISTEN connection lost (%s); polling", exc)
            threading.Event().wait(timeout)

    def close(self) -> None:
        try:
            self._raw.close()
        except Exception:
            pass
