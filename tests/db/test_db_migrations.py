"""Migrations: a new database and an older one both end at the models' schema."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from bringup.db.engine import DatabaseError, current_revision, head_revision, make_engine, upgrade
from bringup.db.models import Base, Chip


def schema_differences(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_new_database_is_created_at_head_and_matches_the_models(database):
    engine = database.engine()

    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []


def schema_of(engine) -> dict:
    """Every table's columns, keys, indexes and constraints, in an order that does not depend on
    how the table was built (migrations add columns at the end)."""
    found = inspect(engine)
    return {table: {
        "columns": sorted((c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                          for c in found.get_columns(table)),
        "primary key": found.get_pk_constraint(table)["constrained_columns"],
        "foreign keys": sorted((tuple(fk["constrained_columns"]), fk["referred_table"],
                                tuple(fk["referred_columns"]), str(sorted(fk["options"].items())))
                               for fk in found.get_foreign_keys(table)),
        "indexes": sorted((ix["name"], str(ix["column_names"]), ix["unique"],
                           str({k: str(v) for k, v in ix.get("dialect_options", {}).items()}))
                          for ix in found.get_indexes(table)),
        "unique": sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)),
        "checks": sorted(str(c["sqltext"]) for c in found.get_check_constraints(table)),
    } for table in sorted(found.get_table_names())}


def test_a_new_database_built_from_the_models_equals_one_built_by_every_migration(database, second_database):
    built = database.engine()  # new: the models' schema in one go, stamped at head
    migrated = second_database.engine(upgrade=False)
    upgrade(migrated, "0001")
    upgrade(migrated, "head")  # no longer new: every later migration runs

    assert current_revision(built) == current_revision(migrated) == head_revision()
    assert schema_of(built) == schema_of(migrated)
    assert len(schema_of(built)) == len(Base.metadata.tables) + 1  # and alembic_version


def test_a_new_database_in_a_schema_with_other_tables_is_created_at_head(database):
    with database.engine(upgrade=False).begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (x INTEGER)"))

    engine = database.engine()

    assert current_revision(engine) == head_revision()
    assert [d[0] for d in schema_differences(engine)] == ["remove_table"]  # theirs, left alone
    assert inspect(engine).has_table("someone_elses")


def test_old_database_is_upgraded_on_open_and_keeps_its_data(database):
    old = database.engine(upgrade=False)
    upgrade(old, "0001")
    with old.begin() as conn:
        conn.execute(text("INSERT INTO chip (serial, lot) VALUES ('OLD-1', 'L7')"))
    assert "ix_vector_result_failures" not in {ix["name"] for ix in inspect(old).get_indexes("vector_result")}

    reopened = database.engine()  # make_engine upgrades what it opens

    assert current_revision(reopened) == head_revision()
    assert schema_differences(reopened) == []
    with reopened.connect() as conn:
        assert conn.execute(select(Chip.lot).where(Chip.serial == "OLD-1")).scalar_one() == "L7"


STATION = """
import sys
from bringup.db.engine import make_engine
make_engine("sqlite://").dispose()  # everything opening needs is imported: a close race
for url in sys.stdin:  # one database per line, opened by every station at once
    try:
        make_engine(url.strip()).dispose()
        print("opened", flush=True)
    except Exception as exc:
        print(" ".join(f"{type(exc).__name__}: {exc}".split()), flush=True)
"""


@pytest.fixture(scope="module")
def stations() -> Iterator[list[subprocess.Popen]]:
    """Four processes that each open the database named on a line of their input."""
    started = [subprocess.Popen([sys.executable, "-c", STATION], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True) for _ in range(4)]
    yield started
    for station in started:
        station.stdin.close()
        station.wait(30)


@pytest.mark.parametrize("first_schema", [None, "0008"], ids=["new", "older"])
def test_stations_opening_one_database_at_once_all_open_it_and_it_is_built_once(
        database, first_schema, tmp_path, stations):
    """Two benches' first runs on one shared lab.db (or two terminals) start together."""
    if database.dialect == "sqlite":  # files are cheap: several rounds make the race likely
        urls = [f"sqlite:///{tmp_path / f'shared-{i}.db'}" for i in range(8)]
    else:  # the test's own PostgreSQL schema
        urls = [f"{database.url}?options={urllib.parse.quote(database.connect_args['options'])}"]
    for url in urls:
        engine = make_engine(url, upgrade=False)
        if first_schema is not None:
            upgrade(engine, first_schema)
        for station in stations:
            station.stdin.write(url + "\n")
            station.stdin.flush()
        assert [station.stdout.readline().strip() for station in stations] == ["opened"] * 4, url

        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert schema_differences(engine) == []
        engine.dispose()


def test_opening_a_current_database_does_not_wait_for_another_stations_write(database, monkeypatch):
    database.engine()  # at head
    monkeypatch.setenv("BRINGUP_DB_LOCK_TIMEOUT_S", "0.5")
    writer = database.engine(upgrade=False)
    with writer.connect() as conn:  # another station is mid-commit, or stalled in one
        conn.execute(text("BEGIN IMMEDIATE") if database.dialect == "sqlite"
                     else text("SELECT pg_advisory_xact_lock(7242001)"))  # or migrating
        try:
            opened = database.engine()  # a run starting: reads the revision, takes no lock
            assert current_revision(opened) == head_revision()
        finally:
            conn.rollback()


def test_a_database_a_newer_bringup_upgraded_is_refused_in_one_line_and_left_as_it_is(database):
    engine = database.engine()
    with engine.begin() as conn:  # a station with a newer bringup migrated the shared database
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
        conn.execute(text("INSERT INTO chip (serial, lot) VALUES ('KEEP-1', 'L7')"))

    with pytest.raises(DatabaseError) as refused:
        database.engine()

    message = str(refused.value)
    assert "\n" not in message
    assert "is at schema 0999, newer than this bringup knows" in message
    assert f"its newest is {head_revision()}" in message and "pip install -U bringup" in message
    assert current_revision(engine) == "0999"
    with engine.connect() as conn:
        assert conn.execute(select(Chip.lot).where(Chip.serial == "KEEP-1")).scalar_one() == "L7"


def test_opening_a_current_database_again_changes_nothing(database):
    database.engine()
    again = database.engine()

    assert current_revision(again) == head_revision()
    assert schema_differences(again) == []


def test_default_url_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BRINGUP_DB", f"sqlite:///{tmp_path / 'from_env.db'}")

    engine = make_engine()

    assert engine.url.database == str(tmp_path / "from_env.db")
    assert (tmp_path / "from_env.db").exists()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()


def test_an_unreachable_server_is_reported_with_the_url_and_the_fix():
    with pytest.raises(DatabaseError, match=r"127\.0\.0\.1:1/.*BRINGUP_DB"):
        make_engine("postgresql+psycopg://nobody@127.0.0.1:1/lab", connect_args={"connect_timeout": 2})


def test_a_malformed_url_is_reported_with_an_example():
    # (a string without "://" is a SQLite file path, bringup.dblocation)
    with pytest.raises(DatabaseError, match=r"sqlite:///lab\.db"):
        make_engine("not a url://lab")


def test_upgrading_to_nullable_measurement_values_keeps_every_measurement(database):
    """0007 rebuilds SQLite's measurement table (value becomes nullable, for NaN readings)."""
    from bringup.db.models import MeasurementRow

    old = database.engine(upgrade=False)
    upgrade(old, "0006")
    with old.begin() as conn:
        conn.execute(text("INSERT INTO station (name) VALUES ('S')"))
        conn.execute(text("INSERT INTO chip (serial) VALUES ('C')"))
        conn.execute(text("INSERT INTO runbook (name, content_hash, text) VALUES ('r', 'h', '')"))
        conn.execute(text("INSERT INTO run (id, chip_id, station_id, runbook_id, operator, status, reason, "
                          "started_at, heartbeat_at, software_version, resume_count) "
                          "VALUES ('run1', 1, 1, 1, '', 'passed', '', 0, 0, '', 0)"))
        conn.execute(text("INSERT INTO measurement (run_id, step_index, name, value, units, time) "
                          "VALUES ('run1', 0, 'idd', 0.25, 'A', 1), ('run1', 1, 'vdd', -1e300, 'V', 2)"))

    reopened = database.engine()

    assert schema_differences(reopened) == []
    with reopened.connect() as conn:
        rows = conn.execute(select(MeasurementRow.name, MeasurementRow.value).order_by(MeasurementRow.time)).all()
    assert [tuple(r) for r in rows] == [("idd", 0.25), ("vdd", -1e300)]


def _downgrade(engine, revision: str) -> None:
    from alembic import command

    from bringup.db.engine import alembic_config

    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _a_run(conn) -> None:
    conn.execute(text("INSERT INTO station (name) VALUES ('S')"))
    conn.execute(text("INSERT INTO chip (serial) VALUES ('C')"))
    conn.execute(text("INSERT INTO runbook (name, content_hash, text) VALUES ('r', 'h', '')"))
    conn.execute(text("INSERT INTO run (id, chip_id, station_id, runbook_id, operator, status, reason, "
                      "started_at, heartbeat_at, software_version, resume_count) "
                      "VALUES ('run1', 1, 1, 1, '', 'passed', '', 0, 0, '', 0)"))


def test_0009_adds_thermal_samples_and_sweep_progress_and_keeps_older_sweep_points(database):
    from bringup.db.models import SweepPointRow, ThermalSampleRow
    from bringup.dblocation import migration_head

    old = database.engine(upgrade=False)
    upgrade(old, "0008")
    with old.begin() as conn:
        _a_run(conn)
        conn.execute(text("INSERT INTO sweep_point (run_id, step_index, vdd_core_v, outcome, confirmed, "
                          "vectors_passed, vectors_run, time) VALUES ('run1', 1, 0.7, 'pass', false, 4, 4, 5)"))

    reopened = database.engine()

    assert current_revision(reopened) == head_revision() == migration_head() == "0009"
    assert schema_differences(reopened) == []
    with reopened.begin() as conn:
        old_point = conn.execute(select(SweepPointRow.vdd_core_v, SweepPointRow.done, SweepPointRow.total)).one()
        assert tuple(old_point) == (0.7, None, None)  # progress not recorded then: unknown, not 0
        conn.execute(ThermalSampleRow.__table__.insert().values(run_id="run1", time=6.0, setpoint_c=85.0,
                                                                forcer_c=84.8, die_c=None, at_temperature=True,
                                                                head="down"))
    assert "ix_thermal_sample_run_order" in {ix["name"] for ix in inspect(reopened).get_indexes("thermal_sample")}


def test_0009_downgrades_to_0008_and_upgrades_again(database):
    engine = database.engine()
    with engine.begin() as conn:
        _a_run(conn)
        conn.execute(text("INSERT INTO sweep_point (run_id, step_index, outcome, confirmed, vectors_passed, "
                          "vectors_run, time, done, total) VALUES ('run1', 0, 'fail', true, 1, 4, 5, 3, 8)"))
        conn.execute(text("INSERT INTO thermal_sample (run_id, time, at_temperature, head) "
                          "VALUES ('run1', 1, false, '')"))

    _downgrade(engine, "0008")

    assert current_revision(engine) == "0008"
    tables = inspect(engine)
    assert "thermal_sample" not in tables.get_table_names()
    assert {"done", "total"}.isdisjoint(c["name"] for c in tables.get_columns("sweep_point"))
    assert "ix_sweep_point_run_step" in {ix["name"] for ix in tables.get_indexes("sweep_point")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT outcome, vectors_run FROM sweep_point")).one() == ("fail", 4)
    engine.dispose()

    again = database.engine()

    assert current_revision(again) == head_revision()
    assert schema_differences(again) == []
