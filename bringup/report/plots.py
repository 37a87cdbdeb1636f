"""PNG plots (matplotlib, no display needed): a shmoo map and Vmin across the chips of a lot."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO

from bringup.report.shmoo_grid import CELLS, ShmooGrid

# Colours chosen to stay distinct in print and for the common colour-vision deficiencies:
# measured outcomes saturated, inferred ones pale versions of them, untested white.
CELL_COLOURS = {
    "pass": "#1a9850",
    "fail": "#d73027",
    "hang": "#4b2991",
    "inferred-pass": "#b8e0b8",
    "inferred-fail": "#f4b6b0",
    "untested": "#ffffff",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window, work over ssh
    import matplotlib.pyplot as plt

    return plt


def shmoo_png(grid: ShmooGrid, title: str, out: str | Path | BinaryIO) -> Any:
    """A shmoo map: one coloured cell per point, the boundary line, a legend; returns the path."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    plt = _pyplot()
    index = {cell: number for number, cell in enumerate(CELLS)}
    values = [[index[cell] for cell in row] for row in grid.cells]
    figure, axes = plt.subplots(figsize=(8, 6), dpi=100)
    volt_step = (grid.volts[1] - grid.volts[0]) if len(grid.volts) > 1 else 0.01
    mhz_step = (grid.mhz[1] - grid.mhz[0]) if len(grid.mhz) > 1 else 100.0
    extent = (grid.mhz[0] - mhz_step / 2, grid.mhz[-1] + mhz_step / 2,
              grid.volts[0] - volt_step / 2, grid.volts[-1] + volt_step / 2)
    axes.imshow(values, origin="lower", aspect="auto", interpolation="nearest", extent=extent,
                cmap=ListedColormap([CELL_COLOURS[c] for c in CELLS]), vmin=0, vmax=len(CELLS) - 1)
    edge = [(m, v) for m, v in zip(grid.mhz, grid.boundary, strict=True) if v is not None]
    if edge:  # under each column's lowest passing cell
        axes.hlines([v - volt_step / 2 for _, v in edge], [m - mhz_step / 2 for m, _ in edge],
                    [m + mhz_step / 2 for m, _ in edge], colors="black", linewidth=2)
    axes.set_xlabel("core clock (MHz)")
    axes.set_ylabel("core voltage (V)")
    axes.set_title(title)
    present = [c for c in CELLS if grid.count(c)]
    axes.legend(handles=[Patch(facecolor=CELL_COLOURS[c], edgecolor="grey", label=c) for c in present],
                loc="upper left", fontsize="small", framealpha=0.9)
    return _save(figure, out)


def vmin_png(series: dict[str, list[tuple[float, float]]], title: str, out: str | Path) -> Path:
    """Vmin against core clock, one line per chip (label -> [(MHz, volts)])."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 5), dpi=100)
    for label, points in sorted(series.items()):
        ordered = sorted(points)
        axes.plot([m for m, _ in ordered], [v for _, v in ordered], marker="o", label=label)
    axes.set_xlabel("core clock (MHz)")
    axes.set_ylabel("Vmin (V)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if series:
        axes.legend(fontsize="small")
    return _save(figure, out)


def shmoo_pages(engine: Any, run_id: str) -> list[tuple[str, ShmooGrid]]:
    """Every shmoo map of a run, one per sweep step and temperature, with its title."""
    from bringup.db.queries import shmoo_maps
    from bringup.report.shmoo_grid import shmoo_grid

    pages = []
    for sweep in shmoo_maps(engine, run_id):
        for temp in sweep.temperatures:
            where = " (temperature not controlled)" if temp is None else f" at {temp:g} °C"
            title = (f"{sweep.chip_serial}{where} — {sweep.step_name} "
                     f"(run {run_id[:8]}, step {sweep.step_index + 1})")
            pages.append((title, shmoo_grid(sweep.at(temp))))
    return pages


def run_figures(engine: Any, run_id: str) -> list[tuple[str, bytes]]:
    """The run's shmoo maps as PNG bytes, for the HTML report."""
    figures = []
    for title, grid in shmoo_pages(engine, run_id):
        png = io.BytesIO()
        shmoo_png(grid, title, png)
        figures.append((title, png.getvalue()))
    return figures


def _save(figure: Any, out: str | Path | BinaryIO) -> Any:
    figure.tight_layout()
    if hasattr(out, "write"):
        figure.savefig(out, format="png")
    else:
        out = Path(out)
        figure.savefig(out)
    _pyplot().close(figure)
    return out
