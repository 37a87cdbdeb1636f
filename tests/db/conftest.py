"""Database fixtures: every test in tests/db runs on SQLite (a temp file) and PostgreSQL.

PostgreSQL tests get a fresh schema each (selected through search_path) that is dropped
afterwards. Where no server answers they are skipped with the reason -- except under CI=true,
where a missing server is a failure. Point BRINGUP_TEST_PG at another server if needed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bringup.db.engine import make_engine

PG_URL = os.environ.get("BRINGUP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@functools.cache
def postgres_unavailable_reason() -> str | None:
    try:
        engine = make_engine(PG_URL, upgrade=False, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL at {PG_URL} ({type(exc).__name__}: {exc}); set BRINGUP_TEST_PG"
    return None


@contextlib.contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A new schema on the test PostgreSQL, dropped afterwards; skips (fails under CI=true)
    where no server answers."""
    reason = postgres_unavailable_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, upgrade=False)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


class TestDatabase:
    """One empty database (SQLite file or PostgreSQL schema) and the engines opened on it."""

    __test__ = False

    def __init__(self, url: str, connect_args: dict[str, str]) -> None:
        self.url = url
        self.connect_args = connect_args
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        self._engines: list[Engine] = []

    def engine(self, *, upgrade: bool = True) -> Engine:
        engine = make_engine(self.url, upgrade=upgrade, connect_args=self.connect_args)
        self._engines.append(engine)
        return engine

    def dispose(self) -> None:
        for engine in self._engines:
            engine.dispose()


@pytest.fixture(autouse=True)
def own_spool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test's recorder journals in its own spool, never the user's shared one."""
    spool = tmp_path / "spool"
    monkeypatch.setenv("BRINGUP_SPOOL", str(spool))
    return spool


@contextlib.contextmanager
def empty_database(dialect: str, folder: Path, name: str = "lab.db") -> Iterator[TestDatabase]:
    """An empty SQLite file in ``folder`` or a fresh PostgreSQL schema, disposed afterwards."""
    if dialect == "sqlite":
        db = TestDatabase(f"sqlite:///{folder / name}", {})
        yield db
        db.dispose()
        return
    with fresh_postgres_schema() as schema:
        db = TestDatabase(PG_URL, {"options": f"-csearch_path={schema}"})
        try:
            yield db
        finally:
            db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with empty_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture
def second_database(database: TestDatabase, tmp_path: Path) -> Iterator[TestDatabase]:
    """Another empty database of the same kind as ``database``."""
    with empty_database(database.dialect, tmp_path, "second.db") as db:
        yield db


@pytest.fixture
def engine(database: TestDatabase) -> Engine:
    return database.engine()


def _wait_until(condition: Callable[[], object], timeout: float = 5.0, what: str = "") -> float:
    """Poll ``condition`` until true; returns the seconds it took or fails the test."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        threading.Event().wait(0.01)
    return time.monotonic() - start


@pytest.fixture
def wait_until() -> Callable[..., float]:
    return _wait_until
