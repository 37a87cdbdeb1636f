"""`bringup tui`: the terminal UI. Only click is imported here; Textual loads when the command runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bringup.cli_options import DB_OPTION

KEYS_HELP = """\b
Keys (the ? key shows them in the UI):
  start    arrows+Enter pick a runbook; Tab moves through serial, lot, wafer,
           die x, die y, operator; Enter starts; Escape leaves a field
  live     p pause/resume (at the next safe point), s stop after this step,
           a abort now (rails down), t show/fold LOAD/DUMP console lines,
           n next chip (after the run: same runbook and lot, serial focused)
  history  Enter a run's summary (a running run: follow it live),
           f the chip's failing vectors, r reload, Escape back
  anywhere h history, ? help, q quit (a run going is aborted first), ctrl+q
"""


@click.command(epilog=KEYS_HELP)
@click.option("--station", "station_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Station file (YAML) describing the bench (needed to start runs, not to --attach).")
@DB_OPTION
@click.option("--runbooks", "runbooks_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Folder of runbooks (*.yaml) to pick from (default: the shipped runbooks/).")
@click.option("--chip", default="", help="Chip serial to fill in on the start screen.")
@click.option("--attach", "attach", default=None, metavar="RUN",
              help="Follow run RUN (an id or its prefix), recorded by another process or station, read-only.")
def tui(station_path: str | None, db_url: str | None, runbooks_dir: str | None, chip: str,
        attach: str | None) -> None:
    """Start, watch and steer runs chip after chip, browse history, or follow a run (--attach)."""
    if station_path is None and attach is None:
        raise click.UsageError("give --station FILE to run chips, or --attach RUN to follow a run")
    from bringup.tui.app import SHIPPED_RUNBOOKS, BringupApp, run_app

    if station_path is not None:
        from bringup.station import load_station

        load_station(station_path)  # a bad station file is exit 2 and one line, before the screen opens

    app = BringupApp(Path(station_path) if station_path else None, db_url=db_url, chip=chip,
                     runbooks_dir=Path(runbooks_dir) if runbooks_dir else SHIPPED_RUNBOOKS, attach=attach)
    sys.exit(run_app(app))
