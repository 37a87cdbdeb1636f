"""PNG figures for the HTML reports, drawn with matplotlib's Agg backend (no display needed).

Each function returns the PNG bytes of one figure, or None when the run has nothing to draw.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

FIGURE_SIZE = (8.0, 3.2)  # inches at 100 dpi: 800 x 320 pixels
DPI = 100


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()


def rails_over_time(samples: Sequence[Any], start: float) -> bytes | None:
    """Volts (top) and amps (bottom) of every rail against seconds since the run started."""
    if not samples:
        return None
    plt = _pyplot()
    by_rail: dict[str, list[Any]] = defaultdict(list)
    for sample in samples:
        by_rail[sample.rail].append(sample)
    fig, (volts, amps) = plt.subplots(2, 1, sharex=True, figsize=(FIGURE_SIZE[0], FIGURE_SIZE[1] * 1.6))
    for rail, points in by_rail.items():
        times = [p.time - start for p in points]
        volts.plot(times, [p.volts for p in points], label=rail)
        amps.plot(times, [p.amps for p in points], label=rail)
    volts.set_ylabel("V")
    amps.set_ylabel("A")
    amps.set_xlabel("seconds since start")
    volts.legend(loc="best", fontsize="small")
    volts.set_title("Rails over time")
    return _png(fig)


def temperature_over_time(points: Sequence[tuple[float, float, str]], start: float) -> bytes | None:
    """(time, °C, series) points, e.g. die temperature readings and forcer conditions."""
    if not points:
        return None
    plt = _pyplot()
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for time, celsius, name in points:
        series[name].append((time - start, celsius))
    fig, axes = plt.subplots(figsize=FIGURE_SIZE)
    for name, values in series.items():
        axes.plot(*zip(*values, strict=True), marker="o", markersize=3, label=name)
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("°C")
    axes.set_title("Temperature over time")
    axes.legend(loc="best", fontsize="small")
    return _png(fig)


def shmoo(cells: dict[tuple[float, float], bool], x_label: str, y_label: str, title: str) -> bytes | None:
    """A pass/fail grid: green where every vector passed at (x, y), red where any failed."""
    if len(cells) < 2:
        return None
    plt = _pyplot()
    xs = sorted({x for x, _ in cells})
    ys = sorted({y for _, y in cells})
    grid = [[float("nan")] * len(xs) for _ in ys]
    for (x, y), passed in cells.items():
        grid[ys.index(y)][xs.index(x)] = 1.0 if passed else 0.0
    fig, axes = plt.subplots(figsize=FIGURE_SIZE)
    from matplotlib.colors import ListedColormap

    axes.imshow(
        grid,
        origin="lower",
        aspect="auto",
        cmap=ListedColormap(["#d9534f", "#5cb85c"]),
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    axes.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], rotation=45, fontsize="small")
    axes.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize="small")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title)
    return _png(fig)


def vmin_by_chip(points: Sequence[Any]) -> bytes | None:
    """Vmin of each chip, one marker series per (MHz, °C) corner."""
    if not points:
        return None
    plt = _pyplot()
    chips = sorted({p.chip_serial for p in points})
    corners: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    for p in points:
        corners[(p.core_mhz, p.temperature_c)].append(p)
    fig, axes = plt.subplots(figsize=FIGURE_SIZE)
    for (mhz, celsius), values in sorted(corners.items(), key=lambda kv: str(kv[0])):
        label = f"{'-' if mhz is None else f'{mhz:g}'} MHz, {'-' if celsius is None else f'{celsius:g}'} °C"
        axes.plot([chips.index(p.chip_serial) for p in values], [p.vmin_v for p in values], "o", label=label)
    axes.set_xticks(range(len(chips)), chips, rotation=45, fontsize="small")
    axes.set_ylabel("Vmin (V)")
    axes.set_title("Vmin per chip")
    axes.legend(loc="best", fontsize="small")
    return _png(fig)


def yield_by_voltage(rows: Sequence[Any]) -> bytes | None:
    """Yield (chips passing every vector) against VDD_CORE, one line per (MHz, °C) corner."""
    if not rows:
        return None
    plt = _pyplot()
    lines: dict[tuple[Any, Any], list[Any]] = defaultdict(list)
    for row in rows:
        lines[(row.core_mhz, row.temperature_c)].append(row)
    fig, axes = plt.subplots(figsize=FIGURE_SIZE)
    for (mhz, celsius), values in sorted(lines.items(), key=lambda kv: str(kv[0])):
        values.sort(key=lambda r: r.vdd_core_v)
        label = f"{'-' if mhz is None else f'{mhz:g}'} MHz, {'-' if celsius is None else f'{celsius:g}'} °C"
        axes.plot(
            [r.vdd_core_v for r in values],
            [100.0 * r.passed / r.tested for r in values],
            marker="o",
            label=label,
        )
    axes.set_xlabel("VDD_CORE (V)")
    axes.set_ylabel("yield (%)")
    axes.set_ylim(-5, 105)
    axes.set_title("Yield per corner")
    axes.legend(loc="best", fontsize="small")
    return _png(fig)
