"""Turning run events into rows, inside the recorder's transaction.

The :class:`RowWriter` is the recorder's single-threaded half: it gets a batch (events, and
measurement tuples from the fast API) and writes it in one transaction. Run and step milestones
are written as they are met, in order; the high-rate rows are gathered per table and inserted
at the end with one ``executemany`` each, after the run rows they refer to exist.
"""

from __future__ import annotations

import logging
import operator
import struct
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, func, select, update

from bringup import __version__
from bringup.db.bulk import BulkInsert, Row, dialect_insert, upsert_id
from bringup.db.engine import server_now
from bringup.db.models import (
    HEAD_LENGTH,
    Chip,
    EventLogRow,
    Golden,
    Instrument,
    MeasurementRow,
    RailSampleRow,
    RecordedJournal,
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
    SweepPoint,
    ThermalSample,
    VectorResult,
)

log = logging.getLogger(__name__)

MEASUREMENT_COLUMNS = (
    "run_id", "step_index", "name", "value", "units", "low", "high", "passed", "time",
    "vdd_core_v", "core_mhz", "temperature_c",
)  # fmt: skip
VECTOR_RESULT_COLUMNS = (
    "run_id", "step_index", "vector_id", "repeat", "passed", "first_mismatch_addr",
    "flipped_bits", "expected", "actual", "time", "duration_s",
    "vdd_core_v", "core_mhz", "temperature_c",
)  # fmt: skip
NOTIFY_CHANNEL = "bringup_results"
RAIL_SAMPLE_COLUMNS = ("run_id", "rail", "volts", "amps", "time")
EVENT_LOG_COLUMNS = ("run_id", "time", "kind", "text")
SWEEP_POINT_COLUMNS = (
    "run_id", "step_index", "vdd_core_v", "core_mhz", "temperature_c", "die_c", "outcome",
    "confirmed", "vectors_passed", "vectors_run", "time", "done", "total",
)  # fmt: skip
THERMAL_SAMPLE_COLUMNS = ("run_id", "time", "setpoint_c", "forcer_c", "die_c", "at_temperature", "head")


# Row builders in column order (MEASUREMENT_COLUMNS, RAIL_SAMPLE_COLUMNS): attrgetter does the
# attribute reads in C, a third of the cost of a tuple written out in Python.
_measurement_fields = operator.attrgetter(
    "run_id", "step_index", "name", "value", "units", "low", "high", "passed", "ts",
    "conditions.vdd_core_v", "conditions.core_mhz", "conditions.temperature_c",
)
_rail_sample_fields = operator.attrgetter("run_id", "rail", "volts", "amps", "ts")


def _step_started_statement(dialect: Dialect) -> Any:
    """Insert a step as running; a resumed run restarting its unfinished step starts it over."""
    columns = ("run_id", "index", "name", "kind", "started_at")
    stmt = dialect_insert(Step.__table__, dialect).values(
        {**{c: bindparam(c) for c in columns}, "status": StepStatus.RUNNING.value, "ended_at": None,
         "message": ""}
    )
    fresh = {c: stmt.excluded[c] for c in ("name", "kind", "started_at")}
    return stmt.on_conflict_do_update(
        index_elements=["run_id", "index"],
        set_={**fresh, "status": StepStatus.RUNNING.value, "ended_at": None, "message": ""},
    )


def pack_words(words: Iterable[int]) -> bytes:
    """32-bit signature words as compact little-endian bytes."""
    values = [w & 0xFFFFFFFF for w in words]
    return struct.pack(f"<{len(values)}I", *values)


def unpack_words(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(data) // 4}I", data)


class RowWriter:
    """Writes batches of run events; remembers which runs are open (for heartbeats)."""

    def __init__(self, dialect: Dialect) -> None:
        self._measurements = BulkInsert(MeasurementRow.__table__, MEASUREMENT_COLUMNS, dialect)
        # A vector result already recorded (a resumed run re-reporting it) is ignored.
        self._vector_results = BulkInsert(
            VectorResultRow.__table__, VECTOR_RESULT_COLUMNS, dialect, ignore_duplicates=True
        )
        self._rail_samples = BulkInsert(RailSampleRow.__table__, RAIL_SAMPLE_COLUMNS, dialect)
        self._event_log = BulkInsert(EventLogRow.__table__, EVENT_LOG_COLUMNS, dialect)
        self._sweep_points = BulkInsert(SweepPointRow.__table__, SWEEP_POINT_COLUMNS, dialect)
        self._thermal_samples = BulkInsert(ThermalSampleRow.__table__, THERMAL_SAMPLE_COLUMNS, dialect)
        self.open_runs: set[str] = set()
        self._vector_ids: dict[str, int] = {}
        self._golden_keys: set[str] = set()  # goldens known to be in the database
        self._now = server_now(dialect.name)  # heartbeats in the database's time, never ours
        self._step_started = _step_started_statement(dialect)
        self._step_finished = (
            update(Step)
            .where(Step.run_id == bindparam("b_run_id"), Step.index == bindparam("b_index"))
            .values(status=bindparam("b_status"), ended_at=bindparam("b_ended_at"),
                    message=bindparam("b_message"))
        )
        self._notify = dialect.name == "postgresql"

    def rolled_back(self, open_runs_before: set[str]) -> None:
        """Forget what was learnt inside a transaction that did not commit."""
        self._vector_ids.clear()
        self._golden_keys.clear()
        self.open_runs = open_runs_before

    def write(self, conn: Connection, batch: list[Any]) -> None:
        """Write a batch: events and fast-path measurement tuples, in arrival order."""
        # Control events run in order as met; high-rate rows are gathered and inserted at the
        # end, after the run rows they refer to exist.
        measurements: list[Row] = []
        vector_results: list[Row] = []
        rail_samples: list[Row] = []
        event_log: list[Row] = []
        steps_started: list[dict[str, Any]] = []
        steps_finished: list[dict[str, Any]] = []
        sweep_points: list[Row] = []
        thermal_samples: list[Row] = []
        for item in batch:
            kind = type(item)
            if kind is Measurement:  # the hot path: one C-level getter per part of the row
                measurements.append(_measurement_fields(item))
            elif kind is tuple:
                measurements.append(item)
            elif kind is RailSample:
                rail_samples.append(_rail_sample_fields(item))
            elif kind is VectorResult:
                vector_results.append(self._vector_result_row(conn, item))
            elif kind is SweepPoint:
                c = item.conditions
                sweep_points.append((item.run_id, item.step_index, c.vdd_core_v, c.core_mhz, c.temperature_c,
                                     item.die_c, str(item.outcome), item.confirmed, item.vectors_passed,
                                     item.vectors_run, item.ts, item.done, item.total))
            elif kind is ThermalSample:
                # A few a second while a forcer settles: a plain tuple is cheap enough. The head is
                # cut to its column so an odd word from a forcer cannot fail the batch.
                thermal_samples.append((item.run_id, item.ts, item.setpoint_c, item.forcer_c, item.die_c,
                                        item.at_temperature, item.head[:HEAD_LENGTH]))
            elif kind is ConsoleLine:
                event_log.append((item.run_id, item.ts, f"console-{item.direction}", item.text))
            elif kind is Log:
                event_log.append((item.run_id, item.ts, f"log-{item.level}", item.text))
            elif kind is StepStarted:
                steps_started.append({"run_id": item.run_id, "index": item.index, "name": item.name,
                                      "kind": item.kind, "started_at": item.ts})
            elif kind is StepFinished:
                steps_finished.append({"b_run_id": item.run_id, "b_index": item.index,
                                       "b_status": str(item.status), "b_ended_at": item.ts,
                                       "b_message": item.message})
            else:
                event_log.extend(self._write_control(conn, item))
        # Steps in two executemany calls of statements built once: starts first, so a step
        # that starts and finishes within the batch ends with its verdict.
        if steps_started:
            conn.execute(self._step_started, steps_started)
        if steps_finished:
            conn.execute(self._step_finished, steps_finished)
        self._measurements.execute(conn, measurements)
        self._vector_results.execute(conn, vector_results)
        self._rail_samples.execute(conn, rail_samples)
        self._event_log.execute(conn, event_log)
        self._sweep_points.execute(conn, sweep_points)
        self._thermal_samples.execute(conn, thermal_samples)

    def _write_control(self, conn: Connection, event: RunEvent) -> list[Row]:
        """Write a run or step milestone; returns its line for the run's event log."""
        if isinstance(event, RunStarted):
            self._write_run_started(conn, event)
            self.open_runs.add(event.run_id)
            what = "run resumed" if event.resumed else "run started"
            return [(event.run_id, event.ts, "run", f"{what} on chip {event.chip_serial}")]
        if isinstance(event, RunFinished):
            self.open_runs.discard(event.run_id)
            conn.execute(
                update(Run)
                .where(Run.id == event.run_id)
                .values(
                    status=str(event.status), reason=event.reason, ended_at=event.ts, heartbeat_at=self._now
                )
            )
            text = f"run {event.status}" + (f": {event.reason}" if event.reason else "")
            return [(event.run_id, event.ts, "run", text)]
        # An event kind newer than this recorder: keep it in the timeline rather than lose it.
        return [(event.run_id, event.ts, type(event).__name__.lower()[:20], repr(event))]

    def _write_run_started(self, conn: Connection, event: RunStarted) -> None:
        station_id = upsert_id(conn, Station.__table__, {"name": event.station_name}, {})
        for inst in event.instruments:
            upsert_id(
                conn,
                Instrument.__table__,
                {"station_id": station_id, "role": inst.role},
                {"driver": inst.driver, "resource": inst.resource, "idn": inst.idn},
            )
        chip_facts = {
            k: v
            for k, v in (
                ("lot", event.lot),
                ("wafer", event.wafer),
                ("die_x", event.die_x),
                ("die_y", event.die_y),
            )
            if v is not None
        }
        chip_id = upsert_id(conn, Chip.__table__, {"serial": event.chip_serial}, chip_facts)
        runbook_id = upsert_id(
            conn,
            Runbook.__table__,
            {"content_hash": event.runbook_hash},
            {"name": event.runbook_name, "text": event.runbook_text},
            update=False,
        )
        if event.resumed:
            resumed = conn.execute(
                update(Run)
                .where(Run.id == event.run_id)
                .values(
                    status=RunStatus.RUNNING.value,
                    reason="",
                    ended_at=None,
                    heartbeat_at=self._now,
                    resume_count=Run.resume_count + 1,
                    host=event.host,
                    pid=event.pid,
                )
            )
            if resumed.rowcount:
                return
            log.warning("recorder: resumed run %s was never recorded; recording it as new", event.run_id)
        conn.execute(
            Run.__table__.insert().values(
                id=event.run_id,
                chip_id=chip_id,
                station_id=station_id,
                runbook_id=runbook_id,
                operator=event.operator,
                status=RunStatus.RUNNING.value,
                reason="",
                started_at=event.ts,
                heartbeat_at=self._now,
                software_version=event.software_version or __version__,
                resume_count=0,
                host=event.host,
                pid=event.pid,
            )
        )

    def _vector_result_row(self, conn: Connection, item: VectorResult) -> Row:
        vector_id = self._vector_ids.get(item.content_hash)
        if vector_id is None:
            vector_id = upsert_id(
                conn,
                Vector.__table__,
                {"content_hash": item.content_hash},
                {"name": item.vector_name, "golden": pack_words(item.expected)},
                update=False,
            )
            self._vector_ids[item.content_hash] = vector_id
        if item.golden_key and item.golden_key not in self._golden_keys:
            self._write_golden(conn, item)
        failed = not item.passed
        c = item.conditions
        return (
            item.run_id,
            item.step_index,
            vector_id,
            item.repeat,
            item.passed,
            item.first_mismatch_addr,
            item.flipped_bits,
            pack_words(item.expected) if failed else None,
            pack_words(item.actual) if failed else None,
            item.ts,
            item.duration_s,
            c.vdd_core_v,
            c.core_mhz,
            c.temperature_c,
        )

    def _write_golden(self, conn: Connection, item: VectorResult) -> None:
        """Share the golden the result was compared with, under the key it was computed by."""
        stmt = dialect_insert(Golden.__table__, conn.dialect).values(
            key=item.golden_key, content_hash=item.content_hash, signature=pack_words(item.expected)
        )
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        self._golden_keys.add(item.golden_key)

    def write_heartbeats(self, conn: Connection) -> None:
        """Refresh the heartbeat of every run this writer has open."""
        if self.open_runs:
            conn.execute(
                update(Run)
                .where(Run.id.in_(sorted(self.open_runs)), Run.status == RunStatus.RUNNING.value)
                .values(heartbeat_at=self._now)
            )

    def write_watermarks(self, conn: Connection, marks: dict[str, tuple[str, int]]) -> None:
        """Record, in the batch's transaction, how far each journal is now in the database."""
        for journal_id, (run_id, seq) in marks.items():
            stmt = dialect_insert(RecordedJournal.__table__, conn.dialect).values(
                journal_id=journal_id, run_id=run_id, seq=seq
            )
            conn.execute(stmt.on_conflict_do_update(index_elements=["journal_id"], set_={"seq": seq}))

    def notify(self, conn: Connection, run_ids: set[str]) -> None:
        """PostgreSQL: tell listeners (the TUI's attach mode) that these runs have new rows.

        NOTIFY is delivered when the transaction commits, so a listener never reads ahead of it.
        """
        if self._notify:
            for run_id in sorted(run_ids):
                conn.execute(select(func.pg_notify(NOTIFY_CHANNEL, run_id)))
