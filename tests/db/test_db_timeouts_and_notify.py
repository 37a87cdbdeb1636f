"""Every wait on the database is bounded, and PostgreSQL listeners hear of each committed batch."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bringup.db.engine import DatabaseError, make_engine
from bringup.db.recorder import Recorder
from bringup.db.writer import NOTIFY_CHANNEL


def test_sqlite_busy_timeout_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BRINGUP_DB_LOCK_TIMEOUT_S", "0.25")
    engine = make_engine(f"sqlite:///{tmp_path / 'lab.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
    engine.dispose()


def test_a_timeout_that_is_not_a_number_of_seconds_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("BRINGUP_DB_LOCK_TIMEOUT_S", "forever")
    with pytest.raises(DatabaseError, match=r"BRINGUP_DB_LOCK_TIMEOUT_S='forever' is not a number of seconds"):
        make_engine(f"sqlite:///{tmp_path / 'lab.db'}")


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_postgres_sessions_have_statement_and_lock_timeouts(database, monkeypatch):
    monkeypatch.setenv("BRINGUP_DB_LOCK_TIMEOUT_S", "3")
    monkeypatch.setenv("BRINGUP_DB_STATEMENT_TIMEOUT_S", "7")
    engine = database.engine()
    with engine.connect() as conn:
        assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "3s"
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "7s"
        assert conn.execute(text("SHOW search_path")).scalar_one().startswith("t_")  # the caller's options kept
        assert conn.connection.driver_connection.info.get_parameters()["connect_timeout"] == "10"


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_each_committed_batch_is_notified_with_its_run_id(database):
    import psycopg

    engine = database.engine()
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True, **database.connect_args) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        with Recorder(engine, stale_after_s=None) as recorder:
            run_id = recorder.start_run("C-1")
            recorder.flush()
        heard = [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
    assert heard == [run_id]
