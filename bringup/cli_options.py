"""The options every command shares, defined once so they read and resolve the same everywhere.

`--db` resolves through `bringup.dblocation.locate` (--db, $BRINGUP_DB, bringup.toml, ./lab.db)
before the command runs, so a command gets one URL and never applies its own default. Only
click is imported here: `bringup --help` stays fast.
"""

from __future__ import annotations

import click

DB_HELP = "Database URL or SQLite file (else $BRINGUP_DB, bringup.toml's db, ./lab.db)."


def _located_db(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """--db, else $BRINGUP_DB, else bringup.toml's db, else ./lab.db: one URL for every command."""
    from bringup.dblocation import locate

    try:
        return locate(value).url
    except Exception as exc:  # a broken bringup.toml: one line with the fix, exit 2
        from bringup.yamlfile import ConfigError

        if not isinstance(exc, ConfigError):
            raise
        raise click.BadParameter(str(exc)) from None


DB_OPTION = click.option("--db", "db_url", envvar="BRINGUP_DB", default=None, callback=_located_db,
                         help=DB_HELP)
FORMAT_OPTION = click.option(
    "--format", "output_format", type=click.Choice(["table", "csv", "json"]), default="table",
    show_default=True,
    help="table for people; csv or json (full values, one record a row) for programs.",
)
STATION_OPTION = click.option("--station", "station_path", required=True, type=click.Path(dir_okay=False),
                              help="Station file (YAML) describing the bench.")
