"""The results schema: SQLAlchemy 2 declarative models, one schema for SQLite and PostgreSQL.

Times are ``Float`` seconds since the Unix epoch (UTC) throughout: the recorder writes hundreds
of thousands of rows per run and a float needs no per-row conversion on either database, sorts
and compares the same everywhere, and keeps microseconds. ``to_timestamp(started_at)`` in psql
or ``datetime.fromtimestamp(x, UTC)`` in Python reads them.

Operating conditions are typed, indexed columns (not JSON) because the history queries filter
and group on them. Migrations in ``bringup/db/migrations`` must describe exactly this file; a
test compares the two.
"""

from __future__ import annotations

import math

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    column,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names so migrations can refer to them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_ID_LENGTH = 32
HEAD_LENGTH = 20  # thermal_sample.head: the writer cuts a longer word a forcer might report


class Reading(TypeDecorator[float]):
    """A measured value that may be NaN: SQLite stores a bound NaN as NULL, so a NULL reads
    back as NaN (PostgreSQL keeps NaN itself). ±inf are REAL values on both databases."""

    impl = Float
    cache_ok = True

    def process_result_value(self, value: float | None, dialect: object) -> float:
        return math.nan if value is None else value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Station(Base):
    __tablename__ = "station"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Instrument(Base):
    """What stood in a station's role (the latest seen; IDN tells a swapped unit)."""

    __tablename__ = "instrument"
    __table_args__ = (UniqueConstraint("station_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    role: Mapped[str] = mapped_column(String(100))
    driver: Mapped[str] = mapped_column(String(200))
    resource: Mapped[str] = mapped_column(String(500))
    idn: Mapped[str] = mapped_column(String(500), default="")


class Chip(Base):
    __tablename__ = "chip"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(200), unique=True)
    lot: Mapped[str | None] = mapped_column(String(100), index=True)
    wafer: Mapped[int | None] = mapped_column(Integer)
    die_x: Mapped[int | None] = mapped_column(Integer)
    die_y: Mapped[int | None] = mapped_column(Integer)


class Runbook(Base):
    """A runbook exactly as it ran: the same text always has the same hash and row."""

    __tablename__ = "runbook"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")


class Run(Base):
    __tablename__ = "run"
    __table_args__ = (
        Index("ix_run_chip_started", "chip_id", "started_at"),
        # mark_stale_runs looks for running runs with an old heartbeat.
        Index("ix_run_status_heartbeat", "status", "heartbeat_at"),
    )

    id: Mapped[str] = mapped_column(String(RUN_ID_LENGTH), primary_key=True)
    chip_id: Mapped[int] = mapped_column(ForeignKey("chip.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    runbook_id: Mapped[int] = mapped_column(ForeignKey("runbook.id"))
    operator: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[float] = mapped_column(Float, index=True)
    ended_at: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float)
    software_version: Mapped[str] = mapped_column(String(100), default="")
    resume_count: Mapped[int] = mapped_column(Integer, default=0)
    # The process recording the run: a run whose process is gone from this host is dead now,
    # without waiting for its heartbeat to go stale.
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    pid: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Step(Base):
    __tablename__ = "step"
    __table_args__ = (UniqueConstraint("run_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"))
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")


class MeasurementRow(Base):
    __tablename__ = "measurement"
    __table_args__ = (
        Index("ix_measurement_run_step", "run_id", "step_index"),
        # One named result of each run of a lot (`query vmin`: the runs' `vmin` measurements).
        Index("ix_measurement_run_name", "run_id", "name"),
        # Trends of one measurement across corners ("how does idd move with temperature").
        Index("ix_measurement_name_corner", "name", "core_mhz", "temperature_c", "vdd_core_v"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"))
    step_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    # Nullable: NULL is a reading that was not a number (docs/database.md, "NaN readings").
    value: Mapped[float] = mapped_column(Reading, nullable=True)
    units: Mapped[str] = mapped_column(String(20), default="")
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    time: Mapped[float] = mapped_column(Float)
    vdd_core_v: Mapped[float | None] = mapped_column(Float)
    core_mhz: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)


class Vector(Base):
    """A validation vector by content: the same image always maps to the same golden."""

    __tablename__ = "vector"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    golden: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian u32 signature words


class Golden(Base):
    """A golden signature by `bringup.vectors.golden.golden_key`: the vector's content *and* the
    reference core that computed it, so a station sharing the database never gets a golden from
    another version of the core. (``vector.golden`` keeps the words the vector's results were
    compared with, whichever core gave them.)"""

    __tablename__ = "golden"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian u32 signature words


class VectorResultRow(Base):
    __tablename__ = "vector_result"
    __table_args__ = (
        # Exactly once: a resumed run that re-reports a result cannot duplicate it.
        UniqueConstraint("run_id", "step_index", "vector_id", "repeat"),
        # "Which chips fail which vectors at which corner": a partial index over failures only.
        Index(
            "ix_vector_result_failures",
            "vector_id",
            "core_mhz",
            "temperature_c",
            "vdd_core_v",
            sqlite_where=column("passed") == false(),
            postgresql_where=column("passed") == false(),
        ),
        # Vmin: the lowest passing voltage per (frequency, temperature).
        Index("ix_vector_result_corner", "core_mhz", "temperature_c", "vdd_core_v"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"))
    step_index: Mapped[int] = mapped_column(Integer)
    vector_id: Mapped[int] = mapped_column(ForeignKey("vector.id"))
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[bool] = mapped_column(Boolean)
    # 32-bit unsigned values: BigInteger so PostgreSQL's signed INTEGER cannot overflow.
    first_mismatch_addr: Mapped[int | None] = mapped_column(BigInteger)
    flipped_bits: Mapped[int] = mapped_column(BigInteger, default=0)
    # Signature words are kept only for failures; a pass equals the vector's golden.
    expected: Mapped[bytes | None] = mapped_column(LargeBinary)
    actual: Mapped[bytes | None] = mapped_column(LargeBinary)
    time: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    vdd_core_v: Mapped[float | None] = mapped_column(Float)
    core_mhz: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)


class RailSampleRow(Base):
    __tablename__ = "rail_sample"
    __table_args__ = (Index("ix_rail_sample_run_rail_time", "run_id", "rail", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"))
    rail: Mapped[str] = mapped_column(String(100))
    volts: Mapped[float] = mapped_column(Float)
    amps: Mapped[float] = mapped_column(Float)
    time: Mapped[float] = mapped_column(Float)


class EventLogRow(Base):
    """Console lines, log messages and run milestones, in order, for the run's timeline."""

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_run_time", "run_id", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"))
    time: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))  # console-rx, console-tx, log-<level>, run
    text: Mapped[str] = mapped_column(Text)


class RecordedJournal(Base):
    """The recorder's journal watermark: events 1..seq of journal ``journal_id`` are recorded.

    Written in the same transaction as the rows, so a replay of the journal after a crash or a
    database outage skips exactly what is already in (see bringup/db/journal.py).
    """

    __tablename__ = "recorded_journal"

    journal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(RUN_ID_LENGTH), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class SweepPointRow(Base):
    """One point of a shmoo or Vmin sweep: its conditions, what it showed, how it was decided.

    A point confirmed after a first execution is recorded again; the latest row is its verdict.
    """

    __tablename__ = "sweep_point"
    __table_args__ = (Index("ix_sweep_point_run_step", "run_id", "step_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"))
    step_index: Mapped[int] = mapped_column(Integer)
    vdd_core_v: Mapped[float | None] = mapped_column(Float)
    core_mhz: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)  # the forcer's set point
    die_c: Mapped[float | None] = mapped_column(Float)  # the die as read at the point
    outcome: Mapped[str] = mapped_column(String(10))  # pass, fail, hang, inferred
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    vectors_passed: Mapped[int] = mapped_column(Integer, default=0)
    vectors_run: Mapped[int] = mapped_column(Integer, default=0)
    time: Mapped[float] = mapped_column(Float)
    # The step's progress when the point was reported (a shmoo counts grid points, a vmin its
    # searches), so a viewer following the run draws the bar with its total. NULL in rows
    # recorded before migration 0009.
    done: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int | None] = mapped_column(Integer)


class ThermalSampleRow(Base):
    """The forcer and the die, as read while a run controls temperature (a ThermalSample)."""

    __tablename__ = "thermal_sample"
    # A run's samples in recorded order: what a follower reads past its last id, and exports.
    __table_args__ = (Index("ix_thermal_sample_run_order", "run_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id"))
    time: Mapped[float] = mapped_column(Float)
    setpoint_c: Mapped[float | None] = mapped_column(Float)
    forcer_c: Mapped[float | None] = mapped_column(Float)  # the air (or plate) as the forcer reads it
    die_c: Mapped[float | None] = mapped_column(Float)
    at_temperature: Mapped[bool] = mapped_column(Boolean)
    head: Mapped[str] = mapped_column(String(HEAD_LENGTH), default="")  # "down", "up" or ""
