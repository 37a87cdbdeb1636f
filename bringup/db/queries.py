"""History queries for the CLI, the TUI and reports (read-only).

Every function takes an Engine and returns plain frozen dataclasses, so callers never hold a
session open. Times are epoch seconds (UTC) like the schema; ``since`` also takes a datetime.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, case, false, func, select, text, true

from bringup.db.fastread import (
    CHIPS_OF_LOT_SQL,
    CONDITION_DIGITS,
    VMIN_BY_LOT_SQL,
    VMIN_SEARCHES_SQL,
    VminPoint,
    VminSearch,
    latest_vmin_searches,
)
from bringup.db.models import Chip, MeasurementRow, Run, Runbook, Station, Step, SweepPointRow, Vector
from bringup.db.models import VectorResultRow as VR


def _epoch(since: float | datetime | None) -> float | None:
    return since.timestamp() if isinstance(since, datetime) else since


def _failures(passed_column: Any) -> Any:
    return func.sum(case((passed_column == false(), 1), else_=0))


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: str
    chip_serial: str
    lot: str | None
    station: str
    runbook: str
    operator: str
    status: str
    reason: str
    started_at: float
    ended_at: float | None
    resume_count: int


@dataclass(frozen=True, slots=True)
class StepInfo:
    index: int
    name: str
    kind: str
    status: str
    started_at: float
    ended_at: float | None
    message: str


@dataclass(frozen=True, slots=True)
class RunSummary:
    run: RunInfo
    steps: tuple[StepInfo, ...]
    measurements_passed: int
    measurements_failed: int
    measurements_unlimited: int
    vectors_passed: int
    vectors_failed: int


@dataclass(frozen=True, slots=True)
class FailingVector:
    chip_serial: str
    vector_name: str
    core_mhz: float | None
    temperature_c: float | None
    vdd_core_v: float | None
    failures: int
    runs: int


@dataclass(frozen=True, slots=True)
class OutcomeChange:
    kind: str  # "measurement" or "vector"
    name: str
    vdd_core_v: float | None
    core_mhz: float | None
    temperature_c: float | None
    before: str  # "pass", "fail", "recorded" (no limits) or "absent"
    after: str
    value_before: float | None = None
    value_after: float | None = None
    # Where the run before took it, when that differs (the same test at another corner).
    corner_before: tuple[float | None, float | None, float | None] | None = None  # (V, MHz, °C)


def _run_select() -> Select[Any]:
    return (
        select(
            Run.id,
            Chip.serial,
            Chip.lot,
            Station.name,
            Runbook.name,
            Run.operator,
            Run.status,
            Run.reason,
            Run.started_at,
            Run.ended_at,
            Run.resume_count,
        )
        .join(Chip, Chip.id == Run.chip_id)
        .join(Station, Station.id == Run.station_id)
        .join(Runbook, Runbook.id == Run.runbook_id)
    )


def list_runs(
    engine: Engine,
    *,
    chip: str | None = None,
    status: str | None = None,
    since: float | datetime | None = None,
    limit: int = 100,
) -> list[RunInfo]:
    """Runs, newest first, optionally of one chip serial, in one status, started since."""
    stmt = _run_select().order_by(Run.started_at.desc()).limit(limit)
    if chip is not None:
        stmt = stmt.where(Chip.serial == chip)
    if status is not None:
        stmt = stmt.where(Run.status == status)
    if since is not None:
        stmt = stmt.where(Run.started_at >= _epoch(since))
    with engine.connect() as conn:
        return [RunInfo(*row) for row in conn.execute(stmt)]


def run_summary(engine: Engine, run_id: str) -> RunSummary | None:
    """One run: its record, its steps in order, and pass/fail counts; None if unknown."""
    with engine.connect() as conn:
        row = conn.execute(_run_select().where(Run.id == run_id)).one_or_none()
        if row is None:
            return None
        steps = conn.execute(
            select(
                Step.index, Step.name, Step.kind, Step.status, Step.started_at, Step.ended_at, Step.message
            )
            .where(Step.run_id == run_id)
            .order_by(Step.index)
        )
        m_passed, m_failed, m_unlimited = conn.execute(
            select(
                func.coalesce(func.sum(case((MeasurementRow.passed == true(), 1), else_=0)), 0),
                func.coalesce(_failures(MeasurementRow.passed), 0),
                func.coalesce(func.sum(case((MeasurementRow.passed.is_(None), 1), else_=0)), 0),
            ).where(MeasurementRow.run_id == run_id)
        ).one()
        v_failed, v_total = conn.execute(
            select(func.coalesce(_failures(VR.passed), 0), func.count()).where(VR.run_id == run_id)
        ).one()
        return RunSummary(
            run=RunInfo(*row),
            steps=tuple(StepInfo(*s) for s in steps),
            measurements_passed=m_passed,
            measurements_failed=m_failed,
            measurements_unlimited=m_unlimited,
            vectors_passed=v_total - v_failed,
            vectors_failed=v_failed,
        )


def failing_vectors(
    engine: Engine,
    *,
    lot: str | None = None,
    chip: str | None = None,
    since: float | datetime | None = None,
) -> list[FailingVector]:
    """Which chips fail which vectors at which corner, most failures first."""
    stmt = (
        select(
            Chip.serial,
            Vector.name,
            VR.core_mhz,
            VR.temperature_c,
            VR.vdd_core_v,
            func.count(),
            func.count(func.distinct(VR.run_id)),
        )
        .join(Vector, Vector.id == VR.vector_id)
        .join(Run, Run.id == VR.run_id)
        .join(Chip, Chip.id == Run.chip_id)
        .where(VR.passed == false())
        .group_by(Chip.serial, Vector.name, VR.core_mhz, VR.temperature_c, VR.vdd_core_v)
        .order_by(func.count().desc(), Chip.serial, Vector.name, VR.vdd_core_v)
    )
    if lot is not None:
        stmt = stmt.where(Chip.lot == lot)
    if chip is not None:
        stmt = stmt.where(Chip.serial == chip)
    if since is not None:
        stmt = stmt.where(Run.started_at >= _epoch(since))
    with engine.connect() as conn:
        rows = [FailingVector(*row) for row in conn.execute(stmt)]
    return sorted(rows, key=lambda f: (-f.failures, f.chip_serial, natural_key(f.vector_name),
                                       f.vdd_core_v is None, f.vdd_core_v or 0.0))


@dataclass(frozen=True, slots=True)
class Span:
    """A closed range of one condition; `Span.parse("0.8")` is one value, "0.7:0.9" a range."""

    low: float | None
    high: float | None

    @classmethod
    def parse(cls, text: str) -> Span:
        if ":" in text:
            low, high = text.split(":", 1)
            return cls(float(low) if low else None, float(high) if high else None)
        value = float(text)
        return cls(value, value)


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What `query measurements` and `query vectors` (and bringup.history) select on."""

    run_id: str | None = None
    chip: str | None = None
    lot: str | None = None
    station: str | None = None
    runbook: str | None = None
    status: str | None = None  # the run's status
    name: str | None = None  # measurement or vector name
    since: float | datetime | None = None
    until: float | datetime | None = None
    volts: Span | None = None
    mhz: Span | None = None
    celsius: Span | None = None
    failed_only: bool = False


def _in_span(column: Any, span: Span | None) -> list[Any]:
    if span is None:
        return []
    slack = 10.0 ** -CONDITION_DIGITS  # 0.8 matches 0.8000000001
    where = []
    if span.low is not None:
        where.append(column >= span.low - slack)
    if span.high is not None:
        where.append(column <= span.high + slack)
    return where


def _filtered(stmt: Select[Any], table: Any, f: HistoryFilter) -> Select[Any]:
    stmt = stmt.join(Run, Run.id == table.run_id).join(Chip, Chip.id == Run.chip_id)
    if f.station is not None:
        stmt = stmt.join(Station, Station.id == Run.station_id).where(Station.name == f.station)
    if f.runbook is not None:
        stmt = stmt.join(Runbook, Runbook.id == Run.runbook_id).where(Runbook.name == f.runbook)
    where = [table.run_id == f.run_id] if f.run_id is not None else []
    where += [Chip.serial == f.chip] if f.chip is not None else []
    where += [Chip.lot == f.lot] if f.lot is not None else []
    where += [Run.status == f.status] if f.status is not None else []
    where += [table.time >= _epoch(f.since)] if f.since is not None else []
    where += [table.time <= _epoch(f.until)] if f.until is not None else []
    where += [table.passed == false()] if f.failed_only else []
    where += _in_span(table.vdd_core_v, f.volts) + _in_span(table.core_mhz, f.mhz)
    where += _in_span(table.temperature_c, f.celsius)
    return stmt.where(*where)


@dataclass(frozen=True, slots=True)
class MeasurementRecord:
    run_id: str
    chip_serial: str
    step_index: int
    name: str
    value: float
    units: str
    low: float | None
    high: float | None
    passed: bool | None
    time: float
    vdd_core_v: float | None
    core_mhz: float | None
    temperature_c: float | None


@dataclass(frozen=True, slots=True)
class VectorRecord:
    run_id: str
    chip_serial: str
    step_index: int
    vector_name: str
    repeat: int
    passed: bool
    first_mismatch_addr: int | None
    flipped_bits: int
    time: float
    duration_s: float
    vdd_core_v: float | None
    core_mhz: float | None
    temperature_c: float | None


STREAM_ROWS = 5_000  # rows fetched at a time: a million results never sit in memory at once


def iter_measurements(engine: Engine, where: HistoryFilter = HistoryFilter()) -> Iterator[MeasurementRecord]:
    """Measurements matching `where`, in time order, streamed from the database."""
    m = MeasurementRow
    stmt = select(m.run_id, Chip.serial, m.step_index, m.name, m.value, m.units, m.low, m.high, m.passed,
                  m.time, m.vdd_core_v, m.core_mhz, m.temperature_c)
    if where.name is not None:
        stmt = stmt.where(m.name == where.name)
    stmt = _filtered(stmt.select_from(m), m, where).order_by(m.time, m.id)
    yield from _stream(engine, stmt, MeasurementRecord)


def iter_vector_results(engine: Engine, where: HistoryFilter = HistoryFilter()) -> Iterator[VectorRecord]:
    """Vector results matching `where`, in time order, streamed from the database."""
    stmt = select(VR.run_id, Chip.serial, VR.step_index, Vector.name, VR.repeat, VR.passed,
                  VR.first_mismatch_addr, VR.flipped_bits, VR.time, VR.duration_s,
                  VR.vdd_core_v, VR.core_mhz, VR.temperature_c).select_from(VR)
    stmt = stmt.join(Vector, Vector.id == VR.vector_id)
    if where.name is not None:
        stmt = stmt.where(Vector.name == where.name)
    stmt = _filtered(stmt, VR, where).order_by(VR.time, VR.id)
    yield from _stream(engine, stmt, VectorRecord)


def _stream(engine: Engine, stmt: Select[Any], record: Any) -> Iterator[Any]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(stmt)
        for row in result:
            yield record(*row)


def vmin_by_chip(engine: Engine, lot: str) -> list[VminPoint]:
    """Vmin of each chip of a lot at each (frequency, temperature) it was swept at.

    Vmin is the lowest core voltage above the highest voltage with any vector failure: a
    voltage that passes only by luck below a failing one does not count. The SQL is shared
    with the fast SQLite path of `bringup query vmin` (bringup.db.fastread).
    """
    with engine.connect() as conn:
        return [VminPoint(*row) for row in conn.execute(text(VMIN_BY_LOT_SQL), {"lot": lot})]


_Key = tuple[str, str, float | None, float | None, float | None, int]
# Two values of one measurement differ when they are further apart than this (relative):
# the run-to-run noise of a bench reading stays below it, 29 °C against 91 °C does not.
VALUE_TOLERANCE = 0.01


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, CONDITION_DIGITS)


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders `alu-2` before `alu-10` (numbers by value, the rest by text)."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in parts if p)


def _outcomes(engine: Engine, run_id: str) -> dict[_Key, tuple[str, float | None]]:
    """(kind, name, vdd, mhz, temp, occurrence) -> (outcome, value) for one run.

    A measurement is taken once per step at a corner; a step repeated by a resume records it
    again, and the latest record wins, so a resumed run compares like one that never stopped.
    The n-th step measuring the same name at the same corner is occurrence n. Vector results
    at a corner are pooled: any failure makes the corner fail.
    """
    m = MeasurementRow
    measurements = (
        select(m.step_index, m.name, m.vdd_core_v, m.core_mhz, m.temperature_c, m.passed, m.value)
        .where(m.run_id == run_id)
        .order_by(m.step_index, m.time, m.id)
    )
    vectors = (
        select(Vector.name, VR.vdd_core_v, VR.core_mhz, VR.temperature_c, func.count(), _failures(VR.passed))
        .join(Vector, Vector.id == VR.vector_id)
        .where(VR.run_id == run_id)
        .group_by(Vector.name, VR.vdd_core_v, VR.core_mhz, VR.temperature_c)
    )
    latest: dict[tuple[Any, ...], tuple[str, float | None]] = {}
    result: dict[_Key, tuple[str, float | None]] = {}
    with engine.connect() as conn:
        for step, name, vdd, mhz, temp, passed, value in conn.execute(measurements):
            outcome = "recorded" if passed is None else ("pass" if passed else "fail")
            latest[(step, name, _round(vdd), _round(mhz), _round(temp))] = (outcome, value)
        occurrences: dict[tuple[Any, ...], int] = {}
        for (_step, name, vdd, mhz, temp), outcome_value in latest.items():  # in step order
            corner = (name, vdd, mhz, temp)
            occurrence = occurrences.get(corner, 0)
            occurrences[corner] = occurrence + 1
            result[("measurement", name, vdd, mhz, temp, occurrence)] = outcome_value
        for name, vdd, mhz, temp, _n, failed in conn.execute(vectors):
            key = ("vector", name, _round(vdd), _round(mhz), _round(temp), 0)
            result[key] = ("fail" if failed else "pass", None)
    return result


def _values_differ(old: float | None, new: float | None) -> bool:
    if old is None or new is None or old == new:
        return False
    if math.isnan(old) or math.isnan(new):
        return not (math.isnan(old) and math.isnan(new))
    return abs(new - old) > VALUE_TOLERANCE * max(abs(old), abs(new))


def _paired_across_corners(before: dict[_Key, Any], after: dict[_Key, Any]) -> dict[_Key, _Key]:
    """after key -> before key for the same test taken at another corner (e.g. 25 vs 85 °C).

    Results present in one run only are grouped by (kind, name); where both runs have the same
    number of them, they are paired in corner order: the n-th point against the n-th point.
    """
    def unmatched(own: dict[_Key, Any], other: dict[_Key, Any]) -> dict[tuple[str, str], list[_Key]]:
        groups: dict[tuple[str, str], list[_Key]] = {}
        for key in sorted(own.keys() - other.keys(), key=_sort_key):
            groups.setdefault((key[0], key[1]), []).append(key)
        return groups

    only_before, only_after = unmatched(before, after), unmatched(after, before)
    pairs = {}
    for test, after_keys in only_after.items():
        before_keys = only_before.get(test, [])
        if len(before_keys) == len(after_keys):
            pairs.update(zip(after_keys, before_keys, strict=True))
    return pairs


def _changes(before: dict[_Key, tuple[str, float | None]], after: dict[_Key, tuple[str, float | None]],
             *, values: bool, across_corners: bool = False) -> list[OutcomeChange]:
    changes = []
    if across_corners:
        for after_key, before_key in _paired_across_corners(before, after).items():
            old_outcome, old_value = before.pop(before_key)
            new_outcome, new_value = after.pop(after_key)
            if old_outcome != new_outcome or (values and _values_differ(old_value, new_value)):
                kind, name, vdd, mhz, temp, _occurrence = after_key
                changes.append(OutcomeChange(kind, name, vdd, mhz, temp, old_outcome, new_outcome, old_value,
                                             new_value, corner_before=before_key[2:5]))
    for key in sorted(before.keys() | after.keys(), key=_sort_key):
        old_outcome, old_value = before.get(key, ("absent", None))
        new_outcome, new_value = after.get(key, ("absent", None))
        if old_outcome != new_outcome or (values and _values_differ(old_value, new_value)):
            kind, name, vdd, mhz, temp, _occurrence = key
            changes.append(
                OutcomeChange(kind, name, vdd, mhz, temp, old_outcome, new_outcome, old_value, new_value)
            )
    return sorted(changes, key=lambda c: _sort_key((c.kind, c.name, c.vdd_core_v, c.core_mhz,
                                                    c.temperature_c, 0)))


def diff_runs(engine: Engine, run_a: str, run_b: str) -> list[OutcomeChange]:
    """Measurements and vectors whose outcome differs between two runs, at the same corner.

    Repeats of a vector at one corner are pooled: any failure makes the corner ``fail``. A
    result present in only one run is reported against ``absent``.
    """
    return _changes(_outcomes(engine, run_a), _outcomes(engine, run_b), values=False)


@dataclass(frozen=True, slots=True)
class ConditionRange:
    """The span of one operating condition over a run's results (None when never set)."""

    name: str
    units: str
    low: float | None
    high: float | None

    def text(self) -> str:
        if self.low is None:
            return "-"
        if self.low == self.high:
            return f"{self.low:g} {self.units}"
        return f"{self.low:g}–{self.high:g} {self.units}"


@dataclass(frozen=True, slots=True)
class RunDiff:
    """Two runs compared: what they were, their conditions, and every result that differs."""

    before: RunInfo
    after: RunInfo
    conditions: tuple[tuple[ConditionRange, ConditionRange], ...]
    changes: tuple[OutcomeChange, ...]  # outcome changed, or a measurement moved by > 1 %
    only_before: int
    only_after: int

    @property
    def same_runbook(self) -> bool:
        return self.before.runbook == self.after.runbook

    def summary(self) -> str:
        a, b = self.before, self.after
        shared = [c for c in self.changes if "absent" not in (c.before, c.after)]
        parts = [f"{sum(c.kind == 'measurement' for c in shared)} measurements differ",
                 f"{sum(c.kind == 'vector' for c in shared)} vectors changed outcome"]
        if self.only_before or self.only_after:
            parts.append(f"{self.only_before} results only in {a.id[:8]}, "
                         f"{self.only_after} only in {b.id[:8]}")
        runbooks = a.runbook if self.same_runbook else f"{a.runbook} vs {b.runbook} (different runbooks)"
        head = (f"{a.id[:8]} ({a.chip_serial}, {a.status}) -> {b.id[:8]} ({b.chip_serial}, {b.status}), "
                f"{runbooks}")
        if not self.changes and not any(x.text() != y.text() for x, y in self.conditions):
            return f"{head}: no differences"
        return f"{head}: " + "; ".join(parts)


_CONDITIONS = (("VDD_CORE", "V", "vdd_core_v"), ("core clock", "MHz", "core_mhz"),
               ("temperature", "°C", "temperature_c"))


def _condition_ranges(engine: Engine, run_id: str) -> tuple[ConditionRange, ...]:
    columns = []
    for table in (MeasurementRow, VR):
        for _name, _units, attr in _CONDITIONS:
            column = getattr(table, attr)
            columns += [func.min(column), func.max(column)]
    with engine.connect() as conn:
        m_row = conn.execute(select(*columns[:6]).where(MeasurementRow.run_id == run_id)).one()
        v_row = conn.execute(select(*columns[6:]).where(VR.run_id == run_id)).one()
    ranges = []
    for i, (name, units, _attr) in enumerate(_CONDITIONS):
        lows = [x for x in (m_row[2 * i], v_row[2 * i]) if x is not None]
        highs = [x for x in (m_row[2 * i + 1], v_row[2 * i + 1]) if x is not None]
        ranges.append(ConditionRange(name, units, min(lows, default=None), max(highs, default=None)))
    return tuple(ranges)


def compare_runs(engine: Engine, run_a: str, run_b: str) -> RunDiff:
    """Two runs side by side: conditions, and every result whose outcome or value differs."""
    infos = {}
    with engine.connect() as conn:
        for run_id in (run_a, run_b):
            row = conn.execute(_run_select().where(Run.id == run_id)).one_or_none()
            if row is None:
                raise AmbiguousRunId(f"no run {run_id} — list runs with `bringup query runs`")
            infos[run_id] = RunInfo(*row)
    before, after = _outcomes(engine, run_a), _outcomes(engine, run_b)
    changes = _changes(before, after, values=True, across_corners=True)
    conditions = tuple(zip(_condition_ranges(engine, run_a), _condition_ranges(engine, run_b), strict=True))
    return RunDiff(
        before=infos[run_a], after=infos[run_b], conditions=conditions, changes=tuple(changes),
        only_before=sum(c.after == "absent" for c in changes),
        only_after=sum(c.before == "absent" for c in changes),
    )


def _sort_key(key: _Key) -> Sequence[Any]:
    """Kind, name (naturally: -2 before -10), then corner (MHz, °C) and voltage; None sorts last."""
    kind, name, vdd, mhz, temp, occurrence = key
    return (kind, natural_key(name), *((c is None, c or 0.0) for c in (mhz, temp, vdd)), occurrence)


@dataclass(frozen=True)
class RunRecipe:
    """What a resume needs to run a recorded run again: who, on what, with which runbook text."""

    run_id: str
    status: str
    chip_serial: str
    station: str
    runbook_name: str
    runbook_text: str
    operator: str


def run_recipe(engine: Engine, run_id: str) -> RunRecipe | None:
    stmt = (
        select(Run.id, Run.status, Chip.serial, Station.name, Runbook.name, Runbook.text, Run.operator)
        .join(Chip, Chip.id == Run.chip_id)
        .join(Station, Station.id == Run.station_id)
        .join(Runbook, Runbook.id == Run.runbook_id)
        .where(Run.id == run_id)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).one_or_none()
    return RunRecipe(*row) if row is not None else None


class AmbiguousRunId(LookupError):
    """A run id prefix that matches no run, or several."""


def resolve_run_id(engine: Engine, prefix: str) -> str:
    """The full id of the one run whose id starts with `prefix` (as git resolves short hashes)."""
    with engine.connect() as conn:
        matching = select(Run.id).where(Run.id.startswith(prefix, autoescape=True)).limit(2)
        found = conn.execute(matching).scalars().all()
    if len(found) == 1:
        return found[0]
    if not found:
        raise AmbiguousRunId(f"no run id starts with '{prefix}' — list runs with `bringup query runs`")
    raise AmbiguousRunId(f"several runs start with '{prefix}' — give more of the id")


@dataclass(frozen=True, slots=True)
class CornerYield:
    """How many of a lot's chips passed every vector at one (MHz, °C, V) corner."""

    core_mhz: float | None
    temperature_c: float | None
    vdd_core_v: float
    tested: int
    passed: int


def lot_corner_yield(engine: Engine, lot: str) -> list[CornerYield]:
    """Yield per corner across a lot: chips tested there, and those with no vector failure."""
    per_chip = (
        select(
            Run.chip_id.label("chip_id"),
            VR.core_mhz.label("core_mhz"),
            VR.temperature_c.label("temperature_c"),
            VR.vdd_core_v.label("vdd"),
            _failures(VR.passed).label("failures"),
        )
        .join(Run, Run.id == VR.run_id)
        .join(Chip, Chip.id == Run.chip_id)
        .where(Chip.lot == lot, VR.vdd_core_v.is_not(None))
        .group_by(Run.chip_id, VR.core_mhz, VR.temperature_c, VR.vdd_core_v)
        .subquery()
    )
    stmt = (
        select(per_chip.c.core_mhz, per_chip.c.temperature_c, per_chip.c.vdd, func.count(),
               func.sum(case((per_chip.c.failures == 0, 1), else_=0)))
        .group_by(per_chip.c.core_mhz, per_chip.c.temperature_c, per_chip.c.vdd)
        .order_by(per_chip.c.core_mhz, per_chip.c.temperature_c, per_chip.c.vdd)
    )
    with engine.connect() as conn:
        return [CornerYield(*row) for row in conn.execute(stmt)]


def recorded_step_statuses(engine: Engine, run_id: str) -> dict[int, str]:
    """What a run recorded of its steps before it died: each step's status by index. A resume
    counts these with the failed vector results (``recorded_vector_passes``) in its verdict."""
    with engine.connect() as conn:
        return dict(conn.execute(select(Step.index, Step.status).where(Step.run_id == run_id)).all())


# ---------------------------------------------------------------------------------- sweeps


@dataclass(frozen=True, slots=True)
class SweepPointRecord:
    step_index: int
    vdd_core_v: float | None
    core_mhz: float | None
    temperature_c: float | None
    die_c: float | None
    outcome: str
    confirmed: bool
    vectors_passed: int
    vectors_run: int


def sweep_points(engine: Engine, run_id: str) -> list[SweepPointRecord]:
    """Every recorded sweep point of a run, oldest first (a later row of a point supersedes)."""
    p = SweepPointRow
    stmt = (
        select(p.step_index, p.vdd_core_v, p.core_mhz, p.temperature_c, p.die_c, p.outcome, p.confirmed,
               p.vectors_passed, p.vectors_run)
        .where(p.run_id == run_id)
        .order_by(p.id)
    )
    with engine.connect() as conn:
        return [SweepPointRecord(*row) for row in conn.execute(stmt)]


def recorded_vector_passes(engine: Engine, run_id: str) -> dict[tuple[int, str, int], bool]:
    """(step index, vector content hash, repeat) -> passed, for every vector result of a run."""
    stmt = (
        select(VR.step_index, Vector.content_hash, VR.repeat, VR.passed)
        .join(Vector, Vector.id == VR.vector_id)
        .where(VR.run_id == run_id)
    )
    with engine.connect() as conn:
        return {(step, digest, repeat): bool(passed) for step, digest, repeat, passed in conn.execute(stmt)}


@dataclass(frozen=True)
class ShmooMap:
    """One sweep step of a run as a map: the latest outcome of every recorded point."""

    run_id: str
    chip_serial: str
    step_index: int
    step_name: str
    points: tuple[SweepPointRecord, ...]

    @property
    def temperatures(self) -> list[float | None]:
        return sorted({p.temperature_c for p in self.points}, key=lambda t: (t is None, t or 0.0))

    def at(self, temperature_c: float | None) -> list[SweepPointRecord]:
        return [p for p in self.points if p.temperature_c == temperature_c]


def shmoo_maps(engine: Engine, run_id: str) -> list[ShmooMap]:
    """The sweep steps of a run (shmoo and vmin), each with its points; [] when it has none."""
    latest: dict[tuple[Any, ...], SweepPointRecord] = {}
    for point in sweep_points(engine, run_id):
        latest[(point.step_index, point.vdd_core_v, point.core_mhz, point.temperature_c)] = point
    with engine.connect() as conn:
        serial = conn.execute(
            select(Chip.serial).join(Run, Run.chip_id == Chip.id).where(Run.id == run_id)
        ).scalar_one_or_none()
        names = dict(conn.execute(select(Step.index, Step.name).where(Step.run_id == run_id)).all())
    maps = []
    for step_index in sorted({key[0] for key in latest}):
        points = tuple(p for key, p in latest.items() if key[0] == step_index)
        maps.append(ShmooMap(run_id, serial or "?", step_index, names.get(step_index, "sweep"), points))
    return maps


def vmin_searches(engine: Engine, lot: str) -> list[VminSearch]:
    """Each chip of a lot: its Vmin per (frequency, temperature) from the `vmin` measurements its
    Vmin searches recorded (the latest search wins), or one row with no Vmin where none ran.
    The same SQL as the command's sqlite3 path (bringup.db.fastread)."""
    params = {"lot": lot}
    with engine.connect() as conn:
        chips = conn.execute(text(CHIPS_OF_LOT_SQL), params).all()
        found = conn.execute(text(VMIN_SEARCHES_SQL), params).all()
    return latest_vmin_searches(chips, found)
