"""`bringup db ...`: the results database's schema and the recorder's spool (journals)."""

from __future__ import annotations

import sys

import click

from bringup.cli_options import DB_OPTION

EXIT_OK, EXIT_UNREACHABLE = 0, 3


@click.group()
def db() -> None:
    """The results database."""


@db.command("upgrade")
@DB_OPTION
def db_upgrade(db_url: str | None) -> None:
    """Apply the schema migrations to a (shared) database."""
    from bringup.db.engine import current_revision, make_engine, upgrade_to_head
    from bringup.dblocation import analyze, locate

    engine = make_engine(db_url, upgrade=False)
    before = current_revision(engine)
    upgrade_to_head(engine)
    analyze(engine)  # fresh planner statistics for the history queries
    click.echo(f"{locate(db_url).describe()}: schema {before or 'empty'} -> {current_revision(engine)}")


@db.command("replay")
@DB_OPTION
@click.option("--spool", type=click.Path(file_okay=False), default=None,
              help="Spool folder to replay (default: the one that belongs to the database).")
def db_replay(db_url: str | None, spool: str | None) -> None:
    """Write the journals that runs left in the spool into the database, exactly once.

    A run's journal stays behind when the database stopped taking writes or the process died.
    Journals of runs still recording are left alone. Exit 0 when the spool is empty after it,
    3 when the database cannot be reached (nothing is lost: try again later).
    """
    from pathlib import Path

    from bringup.db.engine import DatabaseError, make_engine
    from bringup.db.journal import journal_files, spool_dir
    from bringup.db.replay import replay_spool
    from bringup.messages import first_line

    try:
        engine = make_engine(db_url)
        folder = Path(spool) if spool else spool_dir(engine.url)
        replayed = replay_spool(engine, folder)
    except (DatabaseError, OSError) as exc:
        click.echo(f"error: {first_line(exc)}; the journals are kept, run `bringup db replay` again",
                   err=True)
        sys.exit(EXIT_UNREACHABLE)
    except Exception as exc:  # SQLAlchemy's own errors: the server went away mid-replay
        click.echo(f"error: replay stopped: {first_line(exc)}; the journals are kept, run it again", err=True)
        sys.exit(EXIT_UNREACHABLE)
    for one in replayed:
        click.echo(f"replayed {one.describe()}")
    left = journal_files(folder)
    if not replayed:
        click.echo(f"nothing to replay in {folder}")
    if left:
        click.echo(f"{len(left)} journal(s) of runs still recording left in {folder}")
    engine.dispose()
