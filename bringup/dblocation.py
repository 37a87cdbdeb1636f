"""Where the results database is, and opening it for reading without creating or migrating it.

The database is, in order: ``--db``, then ``$BRINGUP_DB``, then ``db = "..."`` in a
``bringup.toml`` found in the current folder or one of its parents (a relative path there is
relative to the toml), then ``./lab.db``. A command that writes says where it recorded; a
command that only reads never creates a database (SQLite would make an empty file on connect).

The read-only open is the fast path of ``bringup query``: it checks the schema version with
one SELECT against the migration files' names instead of importing Alembic; only a database
that is behind falls back to the migrating open.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

ENV_VAR = "BRINGUP_DB"
CONFIG_NAME = "bringup.toml"
DEFAULT_FILE = "lab.db"
VERSIONS_DIR = Path(__file__).parent / "db" / "migrations" / "versions"


class NoDatabase(LookupError):
    """A read-only command found no database where it looked."""


@dataclass(frozen=True)
class DatabaseLocation:
    url: str
    source: str  # "--db", "BRINGUP_DB", the toml's path, or "default"

    @property
    def sqlite_path(self) -> Path | None:
        """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
        if not self.url.startswith("sqlite"):
            return None
        path = self.url.split(":///", 1)[1] if ":///" in self.url else ""
        path = path.split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)

    def describe(self) -> str:
        """The URL as a person reads it: a SQLite file with its absolute path."""
        path = self.sqlite_path
        return f"sqlite:///{path.resolve()}" if path is not None else _without_password(self.url)


def _without_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _as_url(value: str, base: Path | None = None) -> str:
    """A URL as given, or a plain file path (relative to `base`) as a SQLite URL."""
    if "://" in value:
        if base is not None and value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
            relative = value.removeprefix("sqlite:///")
            if relative and relative != ":memory:" and not Path(relative).is_absolute():
                return f"sqlite:///{(base / relative).resolve()}"
        return value
    path = Path(value)
    if base is not None and not path.is_absolute():
        path = (base / path).resolve()
    return f"sqlite:///{path}"


def find_config(start: Path | None = None) -> Path | None:
    """The nearest bringup.toml in `start` (default: the current folder) or its parents."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        config = candidate / CONFIG_NAME
        if config.is_file():
            return config
    return None


def locate(db: str | None = None, *, cwd: Path | None = None) -> DatabaseLocation:
    """Where the database is: --db, $BRINGUP_DB, bringup.toml, ./lab.db (in that order)."""
    if db:
        return DatabaseLocation(_as_url(db), "--db")
    env = os.environ.get(ENV_VAR)
    if env:
        return DatabaseLocation(_as_url(env), ENV_VAR)
    config = find_config(cwd)
    if config is not None:
        value = _config_db(config)
        if value is not None:
            return DatabaseLocation(_as_url(value, config.parent), str(config))
    return DatabaseLocation(f"sqlite:///{DEFAULT_FILE}", "default")


def _config_db(config: Path) -> str | None:
    from bringup.yamlfile import ConfigError

    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(config), None, f"cannot read it ({exc})", 'write e.g. db = "lab.db"') from exc
    value = data.get("db")
    if value is not None and not isinstance(value, str):
        raise ConfigError(
            str(config), None, f"db must be a string, not {value!r}", 'write e.g. db = "lab.db"'
        )
    return value


def database_url(db: str | None = None) -> str:
    return locate(db).url


def recorded_in(db: str | None = None) -> str:
    """The line a writing command prints."""
    return f"recorded in {locate(db).describe()}"


def missing_message(location: DatabaseLocation) -> str:
    path = location.sqlite_path
    shown = location.url if path is None else (str(path) if path.is_absolute() else f"./{path}")
    return f"no database at {shown} — run `bringup demo` or pass --db"


def migration_head() -> str:
    """The newest migration revision, from the files' names (000N_what.py), without Alembic."""
    revisions = [p.name.split("_", 1)[0] for p in VERSIONS_DIR.glob("[0-9]*_*.py")]
    return max(revisions)


def open_readonly(db: str | None = None) -> Engine:
    """Open an existing database for queries: never creates one, migrates only one that is behind.

    Raises NoDatabase when a SQLite file is missing or holds no bringup schema. Alembic is not
    imported unless the schema is behind.
    """
    from sqlalchemy import create_engine, event, text
    from sqlalchemy.exc import DBAPIError

    location = locate(db)
    path = location.sqlite_path
    if path is not None and not path.is_file():
        raise NoDatabase(missing_message(location))
    engine = create_engine(location.url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _reader_pragmas)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError as exc:
        engine.dispose()
        if "alembic_version" in str(exc):
            raise NoDatabase(missing_message(location)) from None
        from bringup.db.engine import DatabaseError
        from bringup.messages import first_line

        raise DatabaseError(
            f"cannot read the results database {location.describe()}: {first_line(exc.orig or exc)}"
        ) from exc
    if version is None:
        engine.dispose()
        raise NoDatabase(missing_message(location))
    if version < migration_head():
        from bringup.db.engine import upgrade_to_head

        upgrade_to_head(engine)  # an older database is brought up to date once, as before
    return engine


def _reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # A reader waits for a writer's checkpoint instead of failing; WAL is the writer's to set.
    dbapi_connection.execute("PRAGMA busy_timeout=10000")


def analyze(engine: Engine) -> None:
    """Refresh the query planner's statistics (after large writes, at `db upgrade`)."""
    from sqlalchemy import text

    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA optimize")
        else:
            conn.execute(text("ANALYZE"))
