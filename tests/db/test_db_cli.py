"""`bringup db upgrade` brings a shared or new database to the current schema and says so."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

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
