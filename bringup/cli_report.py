"""`bringup report` and `bringup export`: a run (or a lot) as a file to hand to people and tools.

Only click is imported here; the work is imported when a command runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from bringup.cli_options import DB_OPTION

EXIT_INVALID_INPUT = 2
EXPORT_FORMATS = ("csv", "json", "stdf")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INVALID_INPUT)


def _open(db: str | None):  # type: ignore[no-untyped-def]  (Engine would import sqlalchemy here)
    from bringup.dblocation import NoDatabase, open_readonly

    try:
        return open_readonly(db)
    except NoDatabase as exc:
        _fail(str(exc))


def _record(engine, run_id: str):  # type: ignore[no-untyped-def]
    from bringup.db.queries import AmbiguousRunId, resolve_run_id
    from bringup.history import load_record

    try:
        full = resolve_run_id(engine, run_id)
    except AmbiguousRunId as exc:
        _fail(str(exc))
    return load_record(engine, full)


def _write_whole(out: str, write: Callable[[Path], object]) -> None:
    """Write through a temporary file beside `out`: an interrupted export never leaves half a file
    that a tool would read as a complete one, and never clobbers the previous good one."""
    target = Path(out)
    partial = target.with_name(f".{target.name}.partial")
    try:
        write(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@click.command()
@click.argument("run_id", required=False)
@click.option(
    "--lot", default=None, help="A report on a lot (Vmin per chip, yield per corner) instead of a run."
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The HTML file to write.")
@DB_OPTION
def report(run_id: str | None, lot: str | None, out: str, db_url: str | None) -> None:
    """One self-contained HTML file about RUN_ID (or --lot L): open it anywhere, no network."""
    if (run_id is None) == (lot is None):
        _fail("give a run id or --lot, not both — e.g. `bringup report 3f2a --out run.html`")
    engine = _open(db_url)
    try:
        if lot is not None:
            from bringup.report.lot import lot_html

            try:
                html, chips = lot_html(engine, lot)
            except LookupError as exc:
                _fail(str(exc))
            _write_whole(out, lambda path: path.write_text(html, encoding="utf-8"))
            click.echo(f"wrote {out}: lot {lot}, {chips} chips")
            return
        from bringup.report.html import run_report, sweep_figures

        record = _record(engine, run_id or "")
        assert record is not None  # resolved above
        html = run_report(record, sweep_figures(engine, record.run.id))
    finally:
        engine.dispose()
    _write_whole(out, lambda path: path.write_text(html, encoding="utf-8"))
    click.echo(f"wrote {out}: run {record.run.id} ({record.run.status})")


@click.command()
@click.argument("run_id")
@click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    required=True,
    help="csv (one row a result), json (the whole record) or stdf (STDF V4).",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@DB_OPTION
def export(run_id: str, export_format: str, out: str, db_url: str | None) -> None:
    """Write a run's results for other tools: CSV, JSON or STDF V4."""
    engine = _open(db_url)
    try:
        record = _record(engine, run_id)
    finally:
        engine.dispose()
    assert record is not None
    if export_format == "csv":
        from bringup.report.export_csv import write_csv as write
    elif export_format == "json":
        from bringup.report.export_json import write_json as write
    else:
        from bringup.report.export_stdf import write_stdf as write
    _write_whole(out, lambda path: write(record, path))
    click.echo(
        f"wrote {out}: run {record.run.id}, {len(record.measurements)} measurements, "
        f"{len(record.vectors)} vector results ({export_format})"
    )
