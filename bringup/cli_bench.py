"""`bringup instruments clear --station FILE`: clear latched OVP/OCP after asking.

A tripped protection latches the output off; every later run refuses to start until someone
has looked at why and cleared it. This command says what is latched, asks (y/N; `--yes` skips
the question), clears it with the outputs left off, and records that it did: a line on stdout
and an audit line appended to `bringup-audit.log` beside the database file (the current folder
for a server database), with the time, host, user and what was cleared.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from bringup.cli_options import DB_OPTION, STATION_OPTION

AUDIT_LOG_NAME = "bringup-audit.log"


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """bringup.cli.friendly_errors, looked up when the command runs (cli.py imports this module)."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from bringup.cli import friendly_errors as report_mistakes

        return report_mistakes(command)(*args, **kwargs)

    return wrapper


@click.command("clear")
@STATION_OPTION
@DB_OPTION  # the audit line goes beside its file
@click.option("--yes", is_flag=True, help="Do not ask before clearing.")
@friendly_errors
def instruments_clear(station_path: str, db_url: str | None, yes: bool) -> None:
    """Clear latched over-voltage/over-current protection on the station's rails."""
    from bringup.bench_check import clear_protection, latched_protection
    from bringup.station import load_station

    spec = load_station(station_path)
    latched = latched_protection(spec)
    if not latched:
        click.echo(f"station {spec.name}: no protection is latched")
        return
    listing = ", ".join(f"{rail} {what}" for rail, what in latched)
    click.echo(f"station {spec.name}: latched {listing}")
    if not yes and not click.confirm("Clear it (outputs stay off)? Do so only once the cause is found",
                                     default=False):
        click.echo("left as it is")
        sys.exit(1)
    cleared = clear_protection(spec)
    done = ", ".join(f"{rail} {what}" for rail, what in cleared)
    line = f"station {spec.name}: cleared {done}"
    path = audit(line, db_url)
    click.echo(f"{line} (recorded in {path})")


def audit(line: str, db_url: str | None) -> str:
    """Append `line` with time, host and user to the audit log beside the database."""
    import datetime
    import getpass
    import socket
    from pathlib import Path

    folder = Path(".")
    from bringup.db.engine import database_url

    url = database_url(db_url)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        folder = Path(url.removeprefix("sqlite:///")).parent
    path = folder / AUDIT_LOG_NAME
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    with path.open("a", encoding="utf-8") as log:
        log.write(f"{stamp} {getpass.getuser()}@{socket.gethostname()} {line}\n")
    return str(path)
