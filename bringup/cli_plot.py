"""`bringup plot ...`: a run's shmoo (terminal and PNG) and Vmin across a lot (PNG).

Only click is imported here; matplotlib and the database load when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bringup.cli_options import DB_OPTION


@click.group()
def plot() -> None:
    """Plots of recorded sweeps: shmoo maps and Vmin across a lot."""


@plot.command("shmoo")
@click.argument("run_id")
@DB_OPTION
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="PNG to write (default shmoo-<run>.png; one file per step and temperature).")
def plot_shmoo(run_id: str, db_url: str | None, out: str | None) -> None:
    """Print the shmoo of RUN in the terminal and write it as a PNG."""
    from bringup.report.plots import shmoo_pages, shmoo_png
    from bringup.report.text_shmoo import text_shmoo

    engine, full_id = _engine_and_run(db_url, run_id)
    pages = shmoo_pages(engine, full_id)
    if not pages:
        click.echo(f"error: run {full_id[:8]} recorded no sweep points — run a shmoo or vmin step first",
                   err=True)
        sys.exit(2)
    for number, (title, grid) in enumerate(pages):
        click.echo(text_shmoo(grid, title) + "\n")
        path = _numbered(Path(out or f"shmoo-{full_id[:8]}.png"), number, len(pages))
        shmoo_png(grid, title, path)
        click.echo(f"wrote {path}")


@plot.command("vmin")
@click.option("--lot", required=True, help="The lot whose chips to plot.")
@DB_OPTION
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="PNG to write (default vmin-<lot>.png).")
def plot_vmin(lot: str, db_url: str | None, out: str | None) -> None:
    """Vmin against core clock for every chip of LOT that had a Vmin search."""
    from bringup.db.queries import vmin_searches
    from bringup.report.plots import vmin_png

    rows = vmin_searches(_engine(db_url), lot)
    series: dict[str, list[tuple[float, float]]] = {}
    missing = []
    for row in rows:
        if row.vmin_v is None or row.core_mhz is None:
            missing.append(row.chip_serial)
            continue
        where = "" if row.temperature_c is None else f" {row.temperature_c:g} °C"
        series.setdefault(f"{row.chip_serial}{where}", []).append((row.core_mhz, row.vmin_v))
    if not series:
        click.echo(f"error: no Vmin search recorded for lot {lot} — run runbooks/vmin.yaml on its chips",
                   err=True)
        sys.exit(2)
    path = vmin_png(series, f"Vmin vs core clock, lot {lot}", out or f"vmin-{lot}.png")
    if missing:
        click.echo(f"no Vmin search recorded for {', '.join(missing)}")
    click.echo(f"wrote {path}")


def _numbered(path: Path, number: int, total: int) -> Path:
    return path if total == 1 else path.with_name(f"{path.stem}-{number + 1}{path.suffix}")


def _engine(db_url: str | None):
    """Plots only read: a database that is not there is said, never created."""
    from bringup.dblocation import NoDatabase, open_readonly

    try:
        return open_readonly(db_url)
    except NoDatabase as exc:
        raise click.ClickException(str(exc)) from None


def _engine_and_run(db_url: str | None, prefix: str):
    from bringup.db.queries import AmbiguousRunId, resolve_run_id

    engine = _engine(db_url)
    try:
        return engine, resolve_run_id(engine, prefix)
    except AmbiguousRunId as exc:
        raise click.ClickException(str(exc)) from None
