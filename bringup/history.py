"""The recorded history for Python: plain records (dataclasses), and DataFrames where pandas is.

    from bringup import history
    runs = history.runs(db="lab.db", chip="SIM-0001")
    record = history.run_record(runs[0].id, db="lab.db")   # everything a report needs
    frame = history.frame(history.measurements(db="lab.db", lot="L1", celsius="85"))

`db` is a URL, a SQLite file, an open Engine, or None for the usual place (--db, $BRINGUP_DB,
bringup.toml, ./lab.db). Opening never creates a database. Nothing here keeps a connection
open after a call returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bringup.tabular import emit, when

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bringup.db.queries import MeasurementRecord, RunDiff, RunInfo, RunSummary, VectorRecord

__all__ = [
    "InstrumentInfo", "RailSample", "RunRecord", "ThermalSample", "compare", "frame", "measurements",
    "print_rows", "run", "run_record", "runs", "vector_results", "vmin", "when",
]  # fmt: skip


def print_rows(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table for people on stdout, streamed (kept for the commands that print this way)."""
    emit(title, columns, rows, "table")


def engine_for(db: Any) -> tuple[Engine, bool]:
    """(engine, whether we opened it and must dispose of it)."""
    if db is not None and not isinstance(db, str | bytes) and hasattr(db, "connect"):
        return db, False
    from bringup.dblocation import open_readonly

    return open_readonly(None if db is None else str(db)), True


def _with_engine(db: Any, call: Any) -> Any:
    engine, owned = engine_for(db)
    try:
        return call(engine)
    finally:
        if owned:
            engine.dispose()


def _filter(run_id: str | None = None, **kwargs: Any) -> Any:
    from bringup.db.queries import HistoryFilter, Span

    for key in ("volts", "mhz", "celsius"):
        value = kwargs.get(key)
        if value is not None and not isinstance(value, Span):
            kwargs[key] = Span.parse(str(value))
    return HistoryFilter(run_id=run_id, **kwargs)


def runs(
    *, db: Any = None, chip: str | None = None, status: str | None = None, since: Any = None, limit: int = 100
) -> list[RunInfo]:
    """Runs, newest first."""
    from bringup.db import queries

    return _with_engine(
        db, lambda e: queries.list_runs(e, chip=chip, status=status, since=since, limit=limit)
    )


def run(run_id: str, *, db: Any = None) -> RunSummary | None:
    """One run (an id or a unique prefix) with its steps and counts; None if there is no such run."""
    from bringup.db import queries

    def summary(engine: Engine) -> RunSummary | None:
        try:
            full = queries.resolve_run_id(engine, run_id)
        except queries.AmbiguousRunId:
            return None
        return queries.run_summary(engine, full)

    return _with_engine(db, summary)


def measurements(*, db: Any = None, run_id: str | None = None, **filters: Any) -> list[MeasurementRecord]:
    """Measurements matching the filters (chip, lot, station, runbook, status, name, since, until,
    volts, mhz, celsius as a value, "lo:hi" or a Span, failed_only)."""
    from bringup.db import queries

    return _with_engine(db, lambda e: list(queries.iter_measurements(e, _filter(run_id, **filters))))


def vector_results(*, db: Any = None, run_id: str | None = None, **filters: Any) -> list[VectorRecord]:
    """Vector results matching the filters (as for measurements)."""
    from bringup.db import queries

    return _with_engine(db, lambda e: list(queries.iter_vector_results(e, _filter(run_id, **filters))))


def vmin(lot: str, *, db: Any = None) -> list[Any]:
    """Vmin per chip and corner across a lot."""
    from bringup.db import queries

    return _with_engine(db, lambda e: queries.vmin_by_chip(e, lot))


def compare(run_a: str, run_b: str, *, db: Any = None) -> RunDiff:
    """Two runs compared: conditions, measurements with deltas, vector outcomes."""
    from bringup.db import queries

    return _with_engine(
        db,
        lambda e: queries.compare_runs(e, queries.resolve_run_id(e, run_a), queries.resolve_run_id(e, run_b)),
    )


def frame(records: Sequence[Any]) -> Any:
    """A pandas DataFrame of records (one column per field); needs pandas installed."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("history.frame needs pandas — pip install pandas") from exc
    if not records:
        return pd.DataFrame()
    columns = [f.name for f in dataclasses.fields(records[0])]
    return pd.DataFrame([dataclasses.astuple(r) for r in records], columns=columns)


# --- everything about one run, for reports and exports -------------------------------------


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    role: str
    driver: str
    resource: str
    idn: str


@dataclass(frozen=True, slots=True)
class RailSample:
    rail: str
    volts: float
    amps: float
    time: float


@dataclass(frozen=True, slots=True)
class ThermalSample:
    """The forcer and the die as read while the run controlled temperature (°C; None: no reading)."""

    setpoint_c: float | None
    forcer_c: float | None
    die_c: float | None
    at_temperature: bool
    head: str
    time: float


@dataclass(frozen=True, slots=True)
class FailingVector:
    step_index: int
    vector_name: str
    repeat: int
    first_mismatch_addr: int | None
    flipped_bits: int
    expected: tuple[int, ...]
    actual: tuple[int, ...]
    vdd_core_v: float | None
    core_mhz: float | None
    temperature_c: float | None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as recorded: who, where, on what, every step, result and sample."""

    summary: RunSummary
    wafer: int | None
    die_x: int | None
    die_y: int | None
    software_version: str
    instruments: tuple[InstrumentInfo, ...]
    measurements: tuple[MeasurementRecord, ...]
    vectors: tuple[VectorRecord, ...]
    failing_vectors: tuple[FailingVector, ...]
    rail_samples: tuple[RailSample, ...]
    # Last, with a default: a record built by hand before thermal samples were recorded still is.
    thermal_samples: tuple[ThermalSample, ...] = ()

    @property
    def run(self) -> RunInfo:
        return self.summary.run


def run_record(run_id: str, *, db: Any = None) -> RunRecord | None:
    """Everything recorded about one run (an id or a unique prefix); None if there is none."""
    return _with_engine(db, lambda engine: load_record(engine, run_id))


def load_record(engine: Engine, run_id: str) -> RunRecord | None:
    from sqlalchemy import false, select

    from bringup.db import queries
    from bringup.db.models import Chip, Instrument, RailSampleRow, Run, ThermalSampleRow, Vector
    from bringup.db.models import VectorResultRow as VR
    from bringup.db.writer import unpack_words

    try:
        run_id = queries.resolve_run_id(engine, run_id)
    except queries.AmbiguousRunId:
        return None
    summary = queries.run_summary(engine, run_id)
    if summary is None:
        return None
    where = queries.HistoryFilter(run_id=run_id)
    with engine.connect() as conn:
        chip = conn.execute(
            select(Chip.wafer, Chip.die_x, Chip.die_y, Run.software_version, Run.station_id)
            .join(Run, Run.chip_id == Chip.id)
            .where(Run.id == run_id)
        ).one()
        instruments = conn.execute(
            select(Instrument.role, Instrument.driver, Instrument.resource, Instrument.idn)
            .where(Instrument.station_id == chip.station_id)
            .order_by(Instrument.role)
        )
        rails = conn.execute(
            select(RailSampleRow.rail, RailSampleRow.volts, RailSampleRow.amps, RailSampleRow.time)
            .where(RailSampleRow.run_id == run_id)
            .order_by(RailSampleRow.time)
        )
        thermal = conn.execute(
            select(ThermalSampleRow.setpoint_c, ThermalSampleRow.forcer_c, ThermalSampleRow.die_c,
                   ThermalSampleRow.at_temperature, ThermalSampleRow.head, ThermalSampleRow.time)
            .where(ThermalSampleRow.run_id == run_id)
            .order_by(ThermalSampleRow.id)  # as recorded: what ix_thermal_sample_run_order serves
        )
        failing = conn.execute(
            select(
                VR.step_index,
                Vector.name,
                VR.repeat,
                VR.first_mismatch_addr,
                VR.flipped_bits,
                VR.expected,
                VR.actual,
                VR.vdd_core_v,
                VR.core_mhz,
                VR.temperature_c,
            )
            .join(Vector, Vector.id == VR.vector_id)
            .where(VR.run_id == run_id, VR.passed == false())
            .order_by(VR.step_index, VR.repeat, VR.id)
        )
        instrument_infos = tuple(InstrumentInfo(*row) for row in instruments)
        rail_samples = tuple(RailSample(*row) for row in rails)
        thermal_samples = tuple(ThermalSample(*row) for row in thermal)
        failing_vectors = tuple(
            FailingVector(
                step,
                name,
                repeat,
                addr,
                bits,
                unpack_words(expected or b""),
                unpack_words(actual or b""),
                vdd,
                mhz,
                temp,
            )
            for step, name, repeat, addr, bits, expected, actual, vdd, mhz, temp in failing
        )
    return RunRecord(
        summary=summary,
        wafer=chip.wafer,
        die_x=chip.die_x,
        die_y=chip.die_y,
        software_version=chip.software_version,
        instruments=instrument_infos,
        measurements=tuple(queries.iter_measurements(engine, where)),
        vectors=tuple(queries.iter_vector_results(engine, where)),
        failing_vectors=failing_vectors,
        rail_samples=rail_samples,
        thermal_samples=thermal_samples,
    )
