"""Opening the results database: engine setup and Alembic migrations.

``make_engine()`` is the one way to open a database. The URL comes from the argument, else the
``BRINGUP_DB`` environment variable, else ``sqlite:///lab.db``. SQLite gets WAL (readers never
block the recorder), a busy timeout (a second writer waits instead of failing) and
``synchronous=NORMAL`` (durable at each checkpoint, and a crash loses at most the last commits).
PostgreSQL is reached by URL, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/lab``.

Every wait on the database is bounded (see docs/database.md): SQLite's busy timeout and
PostgreSQL's ``lock_timeout`` are ``$BRINGUP_DB_LOCK_TIMEOUT_S`` (default 10 s); PostgreSQL
also gets ``connect_timeout`` (``$BRINGUP_DB_CONNECT_TIMEOUT_S``, 10 s), ``statement_timeout``
(``$BRINGUP_DB_STATEMENT_TIMEOUT_S``, 60 s) and TCP keepalives, so a server that drops off the
network is an error within seconds, not a hang.

The schema is migrated to the latest revision on open. The Alembic configuration is built in
code and points into this package, so it works from an installed wheel with no alembic.ini.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, literal_column, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

DEFAULT_URL = "sqlite:///lab.db"
ENV_VAR = "BRINGUP_DB"
LOCK_TIMEOUT_ENV, CONNECT_TIMEOUT_ENV, STATEMENT_TIMEOUT_ENV = (
    "BRINGUP_DB_LOCK_TIMEOUT_S", "BRINGUP_DB_CONNECT_TIMEOUT_S", "BRINGUP_DB_STATEMENT_TIMEOUT_S",
)
DEFAULT_LOCK_TIMEOUT_S, DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_STATEMENT_TIMEOUT_S = 10.0, 10.0, 60.0
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(RuntimeError):
    """The results database cannot be opened or migrated; the message says which and why."""


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $BRINGUP_DB, else bringup.toml's db, else ./lab.db
    (one rule for every command and the Python API: bringup.dblocation)."""
    from bringup.dblocation import locate

    return locate(url).url


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
    lock_timeout_s = _seconds(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT_S)
    if parsed.get_backend_name() == "postgresql":
        connect_args = dict(engine_kw.get("connect_args", {}))
        if "options" in parsed.query:  # e.g. ?options=-csearch_path%3Dlab: keep it, add ours
            connect_args.setdefault("options", parsed.query["options"])
            parsed = parsed.difference_update_query(["options"])
        engine_kw["connect_args"] = _postgres_timeouts(connect_args, lock_timeout_s)
    engine = create_engine(parsed, **engine_kw)
    if engine.dialect.name == "sqlite":
        busy_ms = round(lock_timeout_s * 1000)
        event.listen(engine, "connect", lambda conn, record: _set_sqlite_pragmas(conn, busy_ms))
    if upgrade:
        upgrade_to_head(engine)
    return engine


def _seconds(env_var: str, default: float) -> float:
    raw = os.environ.get(env_var)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 86_400:
        raise DatabaseError(
            f"${env_var}={raw!r} is not a number of seconds between 0 and 86400; unset it or fix it"
        )
    return value


def _postgres_timeouts(connect_args: dict[str, Any], lock_timeout_s: float) -> dict[str, Any]:
    """libpq settings that bound every wait: connecting, each statement, each lock, a dead peer."""
    statement_ms = round(_seconds(STATEMENT_TIMEOUT_ENV, DEFAULT_STATEMENT_TIMEOUT_S) * 1000)
    options = f"-c statement_timeout={statement_ms} -c lock_timeout={round(lock_timeout_s * 1000)}"
    connect_args["options"] = f"{connect_args.get('options', '')} {options}".strip()
    connect_s = _seconds(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT_S)
    connect_args.setdefault("connect_timeout", max(1, round(connect_s)))
    # A server gone from the network (no RST) is noticed by keepalives within ~10 s.
    connect_args.setdefault("keepalives", 1)
    connect_args.setdefault("keepalives_idle", 5)
    connect_args.setdefault("keepalives_interval", 2)
    connect_args.setdefault("keepalives_count", 3)
    connect_args.setdefault("tcp_user_timeout", 10_000)
    return connect_args


def _set_sqlite_pragmas(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    _switch_to_wal(cursor, busy_timeout_ms / 1000)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any, timeout_s: float) -> None:
    """Put the file in WAL mode (it stays so); on a new file another process may be switching it
    or creating the schema at the same moment.

    SQLite answers "database is locked" at once, without its busy handler, when the switch would
    deadlock with another connection's write lock, so it is retried here, up to the same
    bound as every other wait on the database.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def alembic_config() -> Config:
    """Alembic configuration pointing at this package's migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache  # the migrations a process ships with do not change under it
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
    with _reported(engine), engine.begin() as conn:
        # Two stations (or two terminals) opening a new or older database at once: one
        # creates or migrates it, the other waits (bounded by the lock timeout), then finds
        # it at head.
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7242001)"))
        elif conn.dialect.name == "sqlite":
            # pysqlite runs DDL outside any transaction; an explicit one makes the check and
            # the schema change one atomic step under SQLite's write lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        if revision == "head" and _holds_nothing_of_ours(conn):
            _create_at_head(conn)
        else:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)


@contextlib.contextmanager
def _reported(engine: Engine) -> Iterator[None]:
    """A database that cannot be reached or changed is a DatabaseError that says which and why."""
    try:
        yield
    except OperationalError as exc:
        detail = " ".join(str(exc.orig).split()).rstrip(".?")  # drivers' messages span lines
        raise DatabaseError(
            f"cannot open or migrate the results database {engine.url.render_as_string()}: "
            f"{detail}. Check the URL (argument or ${ENV_VAR}) and that the server is running."
        ) from exc


def _holds_nothing_of_ours(conn: Connection) -> bool:
    """True for a new database: no table of ours and no Alembic version (other tables may be
    there, e.g. in a lab's shared PostgreSQL schema)."""
    from bringup.db.models import Base

    present = set(inspect(conn).get_table_names())
    return not present & {*Base.metadata.tables, "alembic_version"}


def _create_at_head(conn: Connection) -> None:
    """A new database gets the models' schema in one go and is stamped at head.

    Replaying every migration costs a new database about 40 ms against 15 ms for this (a lab's
    first run, and each of the test suite's fresh databases); the result is the same schema, which
    tests/db/test_db_migrations.py checks table by table against the migrated one.
    """
    from bringup.db.models import Base

    Base.metadata.create_all(conn)
    MigrationContext.configure(conn).stamp(ScriptDirectory.from_config(alembic_config()), "head")


def server_now(dialect_name: str) -> Any:
    """The database server's clock, in epoch seconds, as a SQL expression (never the host's)."""
    if dialect_name == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())::float8")
    return literal_column("((julianday('now') - 2440587.5) * 86400.0)")


def database_identity(engine: Engine) -> str:
    """Which database (and PostgreSQL schema) an engine writes to, password left out.

    A journal records it, so that a replay never writes one database's runs into another that
    happens to share the spool (two schemas on one server, say).
    """
    where = engine.url.render_as_string(hide_password=True)
    if engine.dialect.name != "postgresql":
        return where
    with engine.connect() as conn:
        return f"{where} schema {conn.execute(text('SELECT current_schema()')).scalar_one()}"


def sqlite_file(engine: Engine) -> Path | None:
    """The SQLite database file behind ``engine`` (None for PostgreSQL or in-memory)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def upgrade_to_head(engine: Engine) -> None:
    """Bring a new or older database to the latest schema; a no-op when it is current.

    A current database (every open but the first) is only read: the write lock that creating or
    migrating takes would make each run's start wait behind another station's commits.
    """
    with _reported(engine):
        current = current_revision(engine)
    if current == head_revision():
        return
    if current is not None and current not in _known_revisions():
        raise DatabaseError(
            f"the results database {engine.url.render_as_string()} is at schema {current}, newer than "
            f"this bringup knows (its newest is {head_revision()}): a newer bringup upgraded it. Upgrade "
            "bringup on this station (pip install -U bringup), or record into another database"
        )
    upgrade(engine, "head")


@functools.cache
def _known_revisions() -> frozenset[str]:
    scripts = ScriptDirectory.from_config(alembic_config())
    return frozenset(script.revision for script in scripts.walk_revisions())
