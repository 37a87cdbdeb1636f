"""The shmoo in a terminal: one character per point, highest voltage on top."""

from __future__ import annotations

from bringup.report.shmoo_grid import ShmooGrid

SYMBOLS = {"pass": "+", "fail": "x", "hang": "H", "inferred-pass": ":", "inferred-fail": "-", "untested": " "}
LEGEND = "+ pass   x fail   H hang   : inferred pass   - inferred fail   (blank) untested"


def text_shmoo(grid: ShmooGrid, title: str) -> str:
    """Rows of volts, columns of MHz (labelled every few columns), and a legend."""
    width = max(len(f"{m:g}") for m in grid.mhz) + 1
    lines = [title]
    for row in reversed(range(len(grid.volts))):
        cells = "".join(SYMBOLS[cell].center(width) for cell in grid.cells[row])
        lines.append(f"{grid.volts[row]:6.3f} V |{cells}")
    lines.append(" " * 9 + "+" + "-" * (width * len(grid.mhz)))
    lines.append(" " * 10 + "".join(f"{m:g}".center(width) for m in grid.mhz) + "  MHz")
    lines.append(LEGEND)
    return "\n".join(lines)
