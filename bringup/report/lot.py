"""`bringup report --lot L`: one self-contained HTML page about a lot.

Vmin of every chip at every (MHz, °C) corner it was swept at (table and plot), and the yield
per corner: of the chips tested at a voltage, how many passed every vector there.
"""

from __future__ import annotations

from typing import Any

from bringup.report import figures
from bringup.report.html import esc, image, num, page, section, table


def lot_report(lot: str, vmin: list[Any], corner_yield: list[Any]) -> str:
    chips = {p.chip_serial for p in vmin}
    vmin_rows = [
        (
            esc(p.chip_serial),
            esc(p.wafer),
            esc("-" if p.die_x is None else f"({p.die_x}, {p.die_y})"),
            esc(num(p.core_mhz)),
            esc(num(p.temperature_c)),
            esc(num(p.vmin_v)),
        )
        for p in vmin
    ]
    plot = figures.vmin_by_chip(vmin)
    vmin_body = (
        (
            table(["chip", "wafer", "die", "MHz", "°C", "Vmin (V)"], vmin_rows, (3, 4, 5))
            + (image(plot, "Vmin per chip") if plot else "")
        )
        if vmin
        else '<p class="muted">no Vmin</p>'
    )
    yield_rows = [
        (
            esc(num(y.core_mhz)),
            esc(num(y.temperature_c)),
            esc(num(y.vdd_core_v)),
            esc(y.tested),
            esc(y.passed),
            esc(f"{100.0 * y.passed / y.tested:.1f} %"),
        )
        for y in corner_yield
    ]
    yield_plot = figures.yield_by_voltage(corner_yield)
    yield_body = (
        (
            table(["MHz", "°C", "V", "chips tested", "chips passed", "yield"], yield_rows, range(6))
            + (image(yield_plot, "yield per corner") if yield_plot else "")
        )
        if corner_yield
        else '<p class="muted">no vector results at a set voltage</p>'
    )
    summary = section(
        "summary",
        "Summary",
        f"<p>{len(chips)} chips with a Vmin; "
        f"{len({(y.core_mhz, y.temperature_c) for y in corner_yield})} corners</p>",
    )
    return page(
        f"Lot {lot}",
        [
            summary,
            section("vmin", "Vmin per chip", vmin_body),
            section("yield", "Yield per corner", yield_body),
        ],
    )


def lot_html(db: Any, lot: str) -> tuple[str, int]:
    """The lot's report and how many chips it covers. LookupError for a lot with no swept results."""
    from bringup.db import queries
    from bringup.history import engine_for

    engine, owned = engine_for(db)
    try:
        vmin = queries.vmin_by_chip(engine, lot)
        corner_yield = queries.lot_corner_yield(engine, lot)
    finally:
        if owned:
            engine.dispose()
    if not vmin and not corner_yield:
        raise LookupError(f"no swept vector results for lot {lot} — list runs with `bringup query runs`")
    return lot_report(lot, vmin, corner_yield), len({p.chip_serial for p in vmin})
