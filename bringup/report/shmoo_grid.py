"""A shmoo map laid out as a grid of cells: what the text shmoo and the PNG both draw.

Cells are `pass`, `fail`, `hang`, `inferred-pass`, `inferred-fail` or `untested`. An inferred
point is read as the search assumed it: a pass when the nearest measured point under it passed
(monotone above a pass), otherwise a fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CELLS = ("pass", "fail", "hang", "inferred-pass", "inferred-fail", "untested")


@dataclass(frozen=True)
class ShmooGrid:
    volts: list[float]  # rows, ascending
    mhz: list[float]  # columns, ascending
    cells: list[list[str]]  # cells[row][column]
    boundary: list[float | None]  # per column: lowest volts above its highest measured failure

    def count(self, cell: str) -> int:
        return sum(row.count(cell) for row in self.cells)


def shmoo_grid(points: list[Any]) -> ShmooGrid:
    """Lay out the points of one temperature (objects with vdd_core_v, core_mhz, outcome)."""
    volts = sorted({p.vdd_core_v for p in points})
    mhz = sorted({p.core_mhz for p in points})
    outcome = {(p.vdd_core_v, p.core_mhz): p.outcome for p in points}
    cells = [["untested"] * len(mhz) for _ in volts]
    boundary: list[float | None] = []
    for column, frequency in enumerate(mhz):
        failing = [row for row, v in enumerate(volts) if outcome.get((v, frequency)) in ("fail", "hang")]
        highest_failure = max(failing, default=-1)
        above = [row for row, v in enumerate(volts)
                 if row > highest_failure and outcome.get((v, frequency)) in ("pass", "inferred")]
        boundary.append(volts[above[0]] if above else None)
        measured_below: str | None = None
        for row, v in enumerate(volts):
            seen = outcome.get((v, frequency))
            if seen == "inferred":
                seen = "inferred-pass" if measured_below == "pass" else "inferred-fail"
            elif seen is not None:
                measured_below = seen
            cells[row][column] = seen or "untested"
    return ShmooGrid(volts, mhz, cells, boundary)
