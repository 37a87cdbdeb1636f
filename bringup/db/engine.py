"""Opening the results database: engine setup and Alembic migrations.

``make_engine()`` is the one way to open a database. The URL comes from the argument, else the
``BRINGUP_DB`` environment variable, else ``sqlite:///lab.db``. SQLite gets WAL (readers never
block the recorder), a busy timeout (a second writer waits instead of failing) and
``synchronous=NORMAL`` (durable at each checkpoint, and a crash loses at most the last commits).
PostgreSQL is reached by URL, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/lab``.

The schema is migrated to the latest revision on open. The Alembic configuration is built in
code and points into this package, so it works from an installed wheel with no alembic.ini.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

DEFAULT_URL = "sqlite:///lab.db"
ENV_VAR = "BRINGUP_DB"
SQLITE_BUSY_TIMEOUT_MS = 10_000
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(RuntimeError):
    """The results database cannot be opened or migrated; the message says which and why."""


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $BRINGUP_DB, else the default SQLite file."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def make_engine(url: str | None = None, *, upgrade: bool = True, **engine_kw: Any) -> Engine:
    """Open the results database at ``url`` and (by default) migrate it to the latest schema."""
    resolved = database_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError as exc:
        raise DatabaseError(
            f"database URL {resolved!r} is not valid ({exc}); use e.g. sqlite:///lab.db or "
            "postgresql+psycopg://user@host:5432/db"
        ) from exc
    engine = create_engine(parsed, **engine_kw)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    if upgrade:
        upgrade_to_head(engine)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config() -> Config:
    """Alembic configuration pointing at this package's migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations found in {MIGRATIONS_DIR}"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (what ``bringup db upgrade`` runs)."""
    config = alembic_config()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Two stations opening a fresh shared database at once: one migrates, one waits.
                conn.execute(text("SELECT pg_advisory_xact_lock(7242001)"))
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except OperationalError as exc:
        detail = " ".join(str(exc.orig).split()).rstrip(".?")  # drivers' messages span lines
        raise DatabaseError(
            f"cannot open or migrate the results database {engine.url.render_as_string()}: "
            f"{detail}. Check the URL (argument or ${ENV_VAR}) and that the server is running."
        ) from exc


def upgrade_to_head(engine: Engine) -> None:
    """Bring a new or older database to the latest schema; a no-op when it is current."""
    upgrade(engine, "head")
