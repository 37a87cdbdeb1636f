"""Read-only history on a SQLite file through the standard library, for commands a user waits on.

Importing SQLAlchemy takes longer than the whole 0.3 s that `bringup query vmin --lot` may
take, so the commands that must answer at once run their SQL here through ``sqlite3``: the file
opened read-only (never created), the schema version checked with one SELECT. The SQL is the
same text that ``bringup.db.queries`` runs through SQLAlchemy on any database (portable: named
``:params``, window functions, booleans read as ``CASE WHEN passed``), so the two paths cannot
disagree. Anything else (PostgreSQL, a schema that needs migrating) returns None and the
caller takes the SQLAlchemy path.

This module imports nothing outside the standard library and ``bringup.dblocation``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bringup.dblocation import NoDatabase, locate, migration_head, missing_message

BUSY_TIMEOUT_S = 10.0  # a reader waits for a writer's checkpoint instead of failing


@dataclass(frozen=True, slots=True)
class VminPoint:
    chip_serial: str
    wafer: int | None
    die_x: int | None
    die_y: int | None
    core_mhz: float | None
    temperature_c: float | None
    vmin_v: float


# Vmin of each chip of a lot at each (MHz, °C) corner: the lowest voltage where every vector
# passed, above the highest voltage with any failure (a lucky pass below a failure does not
# count). The per-point aggregate is computed once; a window over each corner carries that
# corner's highest failing voltage to every point of it (NULL conditions form a corner too).
VMIN_BY_LOT_SQL = """
WITH points AS (
    SELECT run.chip_id AS chip_id, vr.core_mhz AS core_mhz, vr.temperature_c AS temperature_c,
           vr.vdd_core_v AS vdd, SUM(CASE WHEN vr.passed THEN 0 ELSE 1 END) AS failures
    FROM vector_result AS vr
    JOIN run ON run.id = vr.run_id
    JOIN chip ON chip.id = run.chip_id
    WHERE chip.lot = :lot AND vr.vdd_core_v IS NOT NULL
    GROUP BY run.chip_id, vr.core_mhz, vr.temperature_c, vr.vdd_core_v
), judged AS (
    SELECT chip_id, core_mhz, temperature_c, vdd, failures,
           MAX(CASE WHEN failures > 0 THEN vdd END)
               OVER (PARTITION BY chip_id, core_mhz, temperature_c) AS highest_failure
    FROM points
)
SELECT chip.serial, chip.wafer, chip.die_x, chip.die_y, judged.core_mhz, judged.temperature_c,
       MIN(judged.vdd)
FROM judged
JOIN chip ON chip.id = judged.chip_id
WHERE judged.failures = 0 AND (judged.highest_failure IS NULL OR judged.vdd > judged.highest_failure)
GROUP BY chip.serial, chip.wafer, chip.die_x, chip.die_y, judged.core_mhz, judged.temperature_c
ORDER BY chip.serial, judged.core_mhz, judged.temperature_c
"""


# A chip's Vmin searches: the `vmin` measurements its runs recorded (the latest search at a corner
# wins), and the lot's chips so that a chip never searched is listed as such.
CHIPS_OF_LOT_SQL = "SELECT serial, wafer, die_x, die_y FROM chip WHERE lot = :lot ORDER BY serial"
VMIN_SEARCHES_SQL = """
SELECT chip.serial, m.core_mhz, m.temperature_c, m.value, m.run_id
FROM measurement AS m
JOIN run ON run.id = m.run_id
JOIN chip ON chip.id = run.chip_id
WHERE chip.lot = :lot AND m.name = 'vmin'
ORDER BY m.time
"""
CONDITION_DIGITS = 6  # conditions are compared at this resolution: 0.8 and 0.8000000001 are one corner


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


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, CONDITION_DIGITS)


def latest_vmin_searches(chips: Iterable[Sequence[Any]], found: Iterable[Sequence[Any]]) -> list[VminSearch]:
    """Rows of CHIPS_OF_LOT_SQL and VMIN_SEARCHES_SQL -> each chip's Vmin per corner, or one row
    with no Vmin for a chip that was never searched."""
    latest: dict[tuple[Any, ...], tuple[float, str]] = {}
    for serial, mhz, temp, value, run_id in found:
        latest[(serial, rounded(mhz), rounded(temp))] = (value, run_id)
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


def vmin_searches_by_lot(conn: sqlite3.Connection, lot: str) -> list[VminSearch]:
    params = {"lot": lot}
    return latest_vmin_searches(conn.execute(CHIPS_OF_LOT_SQL, params).fetchall(),
                                conn.execute(VMIN_SEARCHES_SQL, params).fetchall())


def connect(db: str | None) -> sqlite3.Connection | None:
    """A read-only connection to a current SQLite database; None where SQLAlchemy must serve.

    Raises NoDatabase where the file is missing or is not a bringup database.
    """
    location = locate(db)
    path = location.sqlite_path
    if path is None:
        return None
    if not path.is_file():
        raise NoDatabase(missing_message(location))
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        conn.close()
        raise NoDatabase(missing_message(location)) from None
    if version is None or version[0] < migration_head():
        conn.close()
        return None  # empty or behind: the migrating open deals with it
    return conn


def vmin_by_lot(conn: sqlite3.Connection, lot: str) -> list[VminPoint]:
    return [VminPoint(*row) for row in conn.execute(VMIN_BY_LOT_SQL, {"lot": lot})]
