"""History queries for the CLI, the TUI and reports (read-only).

Every function takes an Engine and returns plain frozen dataclasses, so callers never hold a
session open. Times are epoch seconds (UTC) like the schema; ``since`` also takes a datetime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, and_, case, false, func, select, true

from bringup.db.models import Chip, MeasurementRow, Run, Runbook, Station, Step, SweepPointRow, Vector
from bringup.db.models import VectorResultRow as VR

# Conditions are compared at this resolution so 0.8 and 0.8000000001 are one corner.
CONDITION_DIGITS = 6


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
class VminPoint:
    chip_serial: str
    wafer: int | None
    die_x: int | None
    die_y: int | None
    core_mhz: float | None
    temperature_c: float | None
    vmin_v: float


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
        return [FailingVector(*row) for row in conn.execute(stmt)]


def vmin_by_chip(engine: Engine, lot: str) -> list[VminPoint]:
    """Vmin of each chip of a lot at each (frequency, temperature) it was swept at.

    Vmin is the lowest core voltage above the highest voltage with any vector failure: a
    voltage that passes only by luck below a failing one does not count.
    """
    points = (
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
    corner = (points.c.chip_id, points.c.core_mhz, points.c.temperature_c)
    highest_failure = (
        select(*corner, func.max(points.c.vdd).label("vdd"))
        .where(points.c.failures > 0)
        .group_by(*corner)
        .subquery()
    )
    same_corner = and_(
        highest_failure.c.chip_id == points.c.chip_id,
        # IS NOT DISTINCT FROM: an uncontrolled (NULL) frequency or temperature is a corner too.
        highest_failure.c.core_mhz.is_not_distinct_from(points.c.core_mhz),
        highest_failure.c.temperature_c.is_not_distinct_from(points.c.temperature_c),
    )
    stmt = (
        select(
            Chip.serial,
            Chip.wafer,
            Chip.die_x,
            Chip.die_y,
            points.c.core_mhz,
            points.c.temperature_c,
            func.min(points.c.vdd),
        )
        .join(Chip, Chip.id == points.c.chip_id)
        .outerjoin(highest_failure, same_corner)
        .where(
            points.c.failures == 0,
            (highest_failure.c.vdd.is_(None)) | (points.c.vdd > highest_failure.c.vdd),
        )
        .group_by(Chip.serial, Chip.wafer, Chip.die_x, Chip.die_y, points.c.core_mhz, points.c.temperature_c)
        .order_by(Chip.serial, points.c.core_mhz, points.c.temperature_c)
    )
    with engine.connect() as conn:
        return [VminPoint(*row) for row in conn.execute(stmt)]


_Key = tuple[str, str, float | None, float | None, float | None]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, CONDITION_DIGITS)


def _outcomes(engine: Engine, run_id: str) -> dict[_Key, tuple[str, float | None]]:
    """(kind, name, vdd, mhz, temp) -> (outcome, mean value) for one run."""
    m = MeasurementRow
    measurements = (
        select(
            m.name,
            m.vdd_core_v,
            m.core_mhz,
            m.temperature_c,
            func.count(),
            _failures(m.passed),
            func.count(m.passed),
            func.avg(m.value),
        )
        .where(m.run_id == run_id)
        .group_by(m.name, m.vdd_core_v, m.core_mhz, m.temperature_c)
    )
    vectors = (
        select(Vector.name, VR.vdd_core_v, VR.core_mhz, VR.temperature_c, func.count(), _failures(VR.passed))
        .join(Vector, Vector.id == VR.vector_id)
        .where(VR.run_id == run_id)
        .group_by(Vector.name, VR.vdd_core_v, VR.core_mhz, VR.temperature_c)
    )
    result: dict[_Key, tuple[str, float | None]] = {}
    with engine.connect() as conn:
        for name, vdd, mhz, temp, _n, failed, limited, mean in conn.execute(measurements):
            outcome = "fail" if failed else ("pass" if limited else "recorded")
            key = ("measurement", name, _round(vdd), _round(mhz), _round(temp))
            result[key] = (outcome, mean)
        for name, vdd, mhz, temp, _n, failed in conn.execute(vectors):
            key = ("vector", name, _round(vdd), _round(mhz), _round(temp))
            result[key] = ("fail" if failed else "pass", None)
    return result


def diff_runs(engine: Engine, run_a: str, run_b: str) -> list[OutcomeChange]:
    """Measurements and vectors whose outcome differs between two runs, at the same corner.

    Repeats at one corner are pooled: any failure makes the corner ``fail``. A result present
    in only one run is reported against ``absent``.
    """
    before, after = _outcomes(engine, run_a), _outcomes(engine, run_b)
    changes = []
    for key in sorted(before.keys() | after.keys(), key=_sort_key):
        old_outcome, old_value = before.get(key, ("absent", None))
        new_outcome, new_value = after.get(key, ("absent", None))
        if old_outcome != new_outcome:
            kind, name, vdd, mhz, temp = key
            changes.append(
                OutcomeChange(kind, name, vdd, mhz, temp, old_outcome, new_outcome, old_value, new_value)
            )
    return changes


def _sort_key(key: _Key) -> Sequence[Any]:
    """Kind, name, then corner (frequency, temperature) and voltage; None sorts last."""
    kind, name, vdd, mhz, temp = key
    return (kind, name, *((c is None, c or 0.0) for c in (mhz, temp, vdd)))


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


@dataclass(frozen=True, slots=True)
class VminSearch:
    """A chip's Vmin at one corner from its latest `vmin` search; `vmin_v` None: never searched."""

    chip_serial: str
    wafer: int | None
    die_x: int | None
    die_y: int | None
    core_mhz: float | None
    temperature_c: float | None
    vmin_v: float | None
    run_id: str | None


def vmin_searches(engine: Engine, lot: str) -> list[VminSearch]:
    """Each chip of a lot: its Vmin per (frequency, temperature) from the `vmin` measurements its
    Vmin searches recorded (the latest search wins), or one row with no Vmin where none ran."""
    m = MeasurementRow
    chips_stmt = (
        select(Chip.serial, Chip.wafer, Chip.die_x, Chip.die_y).where(Chip.lot == lot).order_by(Chip.serial)
    )
    found_stmt = (
        select(Chip.serial, m.core_mhz, m.temperature_c, m.value, m.run_id)
        .join(Run, Run.id == m.run_id)
        .join(Chip, Chip.id == Run.chip_id)
        .where(Chip.lot == lot, m.name == "vmin")
        .order_by(m.time)
    )
    with engine.connect() as conn:
        chips = conn.execute(chips_stmt).all()
        latest: dict[tuple[Any, ...], tuple[float, str]] = {}
        for serial, mhz, temp, value, run_id in conn.execute(found_stmt):
            latest[(serial, _round(mhz), _round(temp))] = (value, run_id)
    result = []
    for serial, wafer, die_x, die_y in chips:
        corners = sorted(((mhz, temp) for s, mhz, temp in latest if s == serial),
                         key=lambda c: tuple((v is None, v or 0.0) for v in c))
        for mhz, temp in corners:
            value, run_id = latest[(serial, mhz, temp)]
            result.append(VminSearch(serial, wafer, die_x, die_y, mhz, temp, value, run_id))
        if not corners:
            result.append(VminSearch(serial, wafer, die_x, die_y, None, None, None, None))
    return result
