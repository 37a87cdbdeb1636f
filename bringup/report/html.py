"""`bringup report RUN`: one self-contained HTML file about a run, to hand to anyone.

Inline CSS, figures as PNG data: URIs, no script and no network: it opens the same from a mail
attachment years later. Sections (each an element with a stable id, tested): summary, chip,
station (instruments with *IDN?), steps, measurements against limits, failing vectors with
address and bit mask, rails and temperature over time, and either the maps of the run's shmoo
and Vmin sweeps (per step and temperature) or, for a run without sweeps whose vectors covered a
grid, a shmoo drawn from its vector results.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from typing import Any

from bringup.history import RunRecord
from bringup.report import figures
from bringup.tabular import when

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .2em .7em; text-align: left; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } code { font-size: .95em; }
.pass { color: #2e7d32; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
.other { color: #8a6d00; font-weight: 600; } img { max-width: 100%; display: block; margin: .5em 0; }
.muted { color: #777; }
"""
MAX_MEASUREMENT_ROWS = 2000  # beyond this the table is cut (the export has them all) and says so
MAX_FAILING_ROWS = 500


def esc(value: Any) -> str:
    return html.escape("-" if value is None else str(value))


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def verdict(value: str | bool | None) -> str:
    text = (
        {True: "pass", False: "fail", None: "-"}.get(value, value)
        if isinstance(value, bool | None)
        else value
    )
    css = "pass" if text in ("pass", "passed") else "fail" if text in ("fail", "failed") else "other"
    return f'<span class="{css}">{esc(text)}</span>'


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{section_id}"><h2>{esc(title)}</h2>{body}</section>'


def page(title: str, sections: Iterable[str]) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>{''.join(sections)}</body></html>\n"
    )


def _summary(record: RunRecord) -> str:
    run, s = record.run, record.summary
    rows = [
        ("run", esc(run.id)),
        ("status", verdict(run.status)),
        ("reason", esc(run.reason or "-")),
        ("runbook", esc(run.runbook)),
        ("operator", esc(run.operator or "-")),
        ("started", esc(when(run.started_at))),
        ("ended", esc(when(run.ended_at))),
        ("resumed", esc(f"{run.resume_count} times" if run.resume_count else "never")),
        (
            "measurements",
            esc(
                f"{s.measurements_passed} passed, {s.measurements_failed} failed, "
                f"{s.measurements_unlimited} without limits"
            ),
        ),
        ("vectors", esc(f"{s.vectors_passed} passed, {s.vectors_failed} failed")),
        ("software", esc(record.software_version or "-")),
    ]
    return section("summary", "Summary", table(["", ""], rows))


def _chip(record: RunRecord) -> str:
    run = record.run
    die = "-" if record.die_x is None else f"({record.die_x}, {record.die_y})"
    rows = [
        ("serial", esc(run.chip_serial)),
        ("lot", esc(run.lot)),
        ("wafer", esc(record.wafer)),
        ("die", esc(die)),
    ]
    return section("chip", "Chip", table(["", ""], rows))


def _station(record: RunRecord) -> str:
    rows = [
        (esc(i.role), esc(i.driver), f"<code>{esc(i.resource)}</code>", esc(i.idn or "-"))
        for i in record.instruments
    ]
    body = f"<p>{esc(record.run.station)}</p>" + (
        table(["role", "driver", "resource", "*IDN?"], rows)
        if rows
        else '<p class="muted">no instruments recorded</p>'
    )
    return section("station", "Station and instruments", body)


def _steps(record: RunRecord) -> str:
    rows = [
        (
            esc(s.index + 1),
            esc(s.name),
            esc(s.kind),
            verdict(s.status),
            esc(num(None if s.ended_at is None else s.ended_at - s.started_at)),
            esc(s.message),
        )
        for s in record.summary.steps
    ]
    return section(
        "steps", "Steps", table(["#", "step", "kind", "verdict", "seconds", "message"], rows, (0, 4))
    )


def _measurements(record: RunRecord) -> str:
    shown = record.measurements[:MAX_MEASUREMENT_ROWS]
    rows = [
        (
            esc(m.step_index + 1),
            esc(m.name),
            esc(num(m.value)),
            esc(m.units),
            esc(num(m.low)),
            esc(num(m.high)),
            verdict(m.passed),
            esc(num(m.vdd_core_v)),
            esc(num(m.core_mhz)),
            esc(num(m.temperature_c)),
        )
        for m in shown
    ]
    body = (
        table(
            ["step", "measurement", "value", "units", "low", "high", "verdict", "V", "MHz", "°C"],
            rows,
            (0, 2, 4, 5, 7, 8, 9),
        )
        if rows
        else '<p class="muted">no measurements</p>'
    )
    if len(record.measurements) > len(shown):
        body += (
            f'<p class="muted">first {len(shown)} of {len(record.measurements)}; `bringup export` has all</p>'
        )
    return section("measurements", "Measurements against limits", body)


def _failing_vectors(record: RunRecord) -> str:
    failing = record.failing_vectors
    rows = [
        (
            esc(f.step_index + 1),
            esc(f.vector_name),
            esc(f.repeat),
            f"<code>{esc('-' if f.first_mismatch_addr is None else f'0x{f.first_mismatch_addr:08x}')}</code>",
            f"<code>0x{f.flipped_bits:08x}</code>",
            esc(num(f.vdd_core_v)),
            esc(num(f.core_mhz)),
            esc(num(f.temperature_c)),
        )
        for f in failing[:MAX_FAILING_ROWS]
    ]
    body = (
        table(
            ["step", "vector", "repeat", "first failing address", "flipped bits", "V", "MHz", "°C"],
            rows,
            (0, 2, 5, 6, 7),
        )
        if rows
        else '<p class="pass">every vector passed</p>'
    )
    if len(failing) > MAX_FAILING_ROWS:
        body += f'<p class="muted">first {MAX_FAILING_ROWS} of {len(failing)} failures</p>'
    return section("failing-vectors", "Failing vectors", body)


def _temperature_points(record: RunRecord) -> list[tuple[float, float, str]]:
    points = [(m.time, m.value, m.name) for m in record.measurements if m.units in ("°C", "C", "degC")]
    if record.thermal_samples:  # recorded while the run controlled temperature (thermal_sample)
        for sample in record.thermal_samples:
            for celsius, series in ((sample.setpoint_c, "forcer set point"), (sample.forcer_c, "forcer air"),
                                    (sample.die_c, "die")):
                if celsius is not None:
                    points.append((sample.time, celsius, series))
        return points
    # A run recorded before thermal samples were: the set points its results carry.
    seen_conditions = {
        (round(r.time, 1), r.temperature_c)
        for r in (*record.measurements, *record.vectors)
        if r.temperature_c is not None
    }
    points += [(t, c, "condition (forcer set point)") for t, c in sorted(seen_conditions)]
    return points


def _over_time(record: RunRecord) -> list[str]:
    out = []
    start = record.run.started_at
    rails = figures.rails_over_time(record.rail_samples, start)
    out.append(
        section(
            "rails",
            "Rails over time",
            image(rails, "rails over time") if rails else '<p class="muted">no rail samples</p>',
        )
    )
    points = _temperature_points(record)
    temperature = figures.temperature_over_time(points, start)
    if temperature:
        series = ", ".join(dict.fromkeys(name for _, _, name in points))  # the legend, in words
        out.append(section("temperature", "Temperature over time",
                           image(temperature, f"temperature over time: {series}")))
    return out


def _shmoo(record: RunRecord) -> str | None:
    """Pass/fail by (VDD_CORE, MHz) from the vector results, when the run covered a grid."""
    cells: dict[tuple[float, float], bool] = {}
    for v in record.vectors:
        if v.vdd_core_v is None or v.core_mhz is None:
            continue
        key = (round(v.vdd_core_v, 6), round(v.core_mhz, 6))
        cells[key] = cells.get(key, True) and v.passed
    if len({v for v, _ in cells}) < 2:
        return None
    png = figures.shmoo(cells, "VDD_CORE (V)", "core clock (MHz)", "Shmoo: vectors by voltage and clock")
    return section("shmoo", "Shmoo", image(png, "shmoo")) if png else None


def sweep_figures(engine: Any, run_id: str) -> list[tuple[str, bytes]]:
    """The run's shmoo maps (one per sweep step and temperature) as PNGs; [] without sweeps."""
    from bringup.report.plots import run_figures

    return run_figures(engine, run_id)


def run_report(record: RunRecord, sweeps: Sequence[tuple[str, bytes]] = ()) -> str:
    run = record.run
    sections = [
        _summary(record),
        _chip(record),
        _station(record),
        _steps(record),
        _measurements(record),
        _failing_vectors(record),
        *_over_time(record),
    ]
    # A run with sweeps has their maps, per step and temperature; the vector shmoo would draw
    # the same points again with every temperature folded into one map.
    shmoo = None if sweeps else _shmoo(record)
    if shmoo:
        sections.append(shmoo)
    if sweeps:
        sections.append(
            section(
                "sweeps",
                "Sweeps (shmoo and Vmin)",
                "".join(f"<h3>{esc(title)}</h3>{image(png, title)}" for title, png in sweeps),
            )
        )
    return page(f"Run {run.id[:8]}: {run.runbook} on {run.chip_serial} — {run.status}", sections)
