"""Opening the results database to read it, never creating one (the TUI's history and attach).

A SQLite file that is not there is reported, not created: an empty `lab.db` in whatever folder
the TUI was started from would hide where the runs really are. The location rules and the
read-only open are `bringup.dblocation`'s, the same as `bringup query`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bringup.dblocation import NoDatabase as NoDatabaseError
from bringup.dblocation import open_readonly

if TYPE_CHECKING:
    from sqlalchemy import Engine

HOW_TO_GET_ONE = "run `bringup demo` or pass --db"
__all__ = ["HOW_TO_GET_ONE", "NoDatabaseError", "open_read_only"]


def open_read_only(url: str | None, how_to_get_one: str = HOW_TO_GET_ONE) -> Engine:
    """The database at `url` (else $BRINGUP_DB, bringup.toml, ./lab.db), for reading; never created."""
    try:
        return open_readonly(url)
    except NoDatabaseError as exc:
        if how_to_get_one == HOW_TO_GET_ONE:
            raise
        raise NoDatabaseError(str(exc).replace(HOW_TO_GET_ONE, how_to_get_one)) from None
