"""`bringup tui`: the terminal UI. Only click is imported here; Textual loads when the command runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bringup.cli_options import DB_OPTION


@click.command()
@click.option("--station", "station_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="Station file (YAML) describing the bench.")
@DB_OPTION
@click.option("--runbooks", "runbooks_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Folder of runbooks (*.yaml) to pick from (default: the shipped runbooks/).")
@click.option("--chip", default="", help="Chip serial to fill in on the start screen.")
def tui(station_path: str, db_url: str | None, runbooks_dir: str | None, chip: str) -> None:
    """Start, watch and steer runs, and browse history, in a terminal UI.

    Keys: p pause/resume, s stop, a abort, h history, q quit (a run is aborted, rails down, first).
    """
    from bringup.station import load_station
    from bringup.tui.app import SHIPPED_RUNBOOKS, BringupApp, run_app

    load_station(station_path)  # a bad station file is exit 2 and one line, before the screen opens
    app = BringupApp(Path(station_path), db_url=db_url, chip=chip,
                     runbooks_dir=Path(runbooks_dir) if runbooks_dir else SHIPPED_RUNBOOKS)
    sys.exit(run_app(app))
