"""`bringup db upgrade` brings a shared or new database to the current schema and says so."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from bringup.cli import main
from bringup.db.engine import current_revision, head_revision, make_engine


def test_db_upgrade_creates_the_schema_of_a_new_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", url])
    assert result.exit_code == 0, result.output
    assert f"schema empty -> {head_revision()}" in result.output
    assert current_revision(make_engine(url, upgrade=False)) == head_revision()


def test_db_upgrade_of_a_current_database_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    make_engine(url)  # opening migrates
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", url])
    assert result.exit_code == 0, result.output
    assert f"schema {head_revision()} -> {head_revision()}" in result.output


def test_db_upgrade_of_a_database_a_newer_bringup_upgraded_exits_3_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with make_engine(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", url])
    assert result.exit_code == 3, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the results database"), result.output
    assert "newer than this bringup knows" in lines[0] and "Traceback" not in result.output
