"""Opening the results database to read it, never creating one.

The history screen and attach only read. A SQLite file that is not there is reported, not
created (an empty `lab.db` in whatever folder the TUI was started from would hide where the
runs really are). The engine is opened without migrations and nothing is written through it.

This is the TUI's own minimal check: when `bringup.dblocation` (the database's location rules
with their read-only open) lands, `open_read_only` is the one function to swap for it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

HOW_TO_GET_ONE = "run `bringup demo` or pass --db"


class NoDatabaseError(RuntimeError):
    """The database to read is not there; the message names where it looked and what to do."""


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file `url` names when it does not exist; None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def shown_path(path: Path) -> str:
    """`./lab.db` for a bare relative name, so the reader sees it is the current folder."""
    return str(path) if path.is_absolute() or path.parent != Path(".") else f"./{path}"


def open_read_only(url: str | None, how_to_get_one: str = HOW_TO_GET_ONE) -> Engine:
    """The database at `url` (else $BRINGUP_DB, else ./lab.db), for reading; never created."""
    from bringup.db.engine import database_url, make_engine

    resolved = database_url(url)
    missing = missing_sqlite_file(resolved)
    if missing is not None:
        raise NoDatabaseError(f"no database at {shown_path(missing)} — {how_to_get_one}")
    return make_engine(resolved, upgrade=False)
