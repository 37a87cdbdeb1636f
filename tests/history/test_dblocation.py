"""Where the database is: --db, then $BRINGUP_DB, then bringup.toml (here or above), then ./lab.db."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bringup.cli import main
from bringup.dblocation import locate
from bringup.simlab import SimLab
from bringup.yamlfile import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("BRINGUP_DB", raising=False)
    work = tmp_path / "project" / "night"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return work


def test_the_default_is_lab_db_here(folder: Path) -> None:
    assert locate().url == "sqlite:///lab.db"
    assert locate().describe() == f"sqlite:///{folder / 'lab.db'}"


def test_a_bringup_toml_in_a_parent_names_the_database_relative_to_itself(folder: Path) -> None:
    (folder.parent / "bringup.toml").write_text('db = "results/lab.db"\n')

    location = locate()

    assert location.url == f"sqlite:///{folder.parent / 'results' / 'lab.db'}"
    assert location.source == str(folder.parent / "bringup.toml")


def test_the_environment_wins_over_the_toml_and_db_over_both(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "bringup.toml").write_text('db = "toml.db"\n')
    monkeypatch.setenv("BRINGUP_DB", "sqlite:///env.db")

    assert locate().url == "sqlite:///env.db"
    assert locate("postgresql+psycopg://lab@db/lab").url == "postgresql+psycopg://lab@db/lab"
    assert locate("other.db").url == "sqlite:///other.db"  # a plain path is a SQLite file


def test_a_broken_toml_is_one_line_with_the_fix(folder: Path) -> None:
    (folder / "bringup.toml").write_text("db = 3\n")

    with pytest.raises(ConfigError, match=r"bringup.toml: db must be a string, not 3 — write e.g."):
        locate()
    result = CliRunner().invoke(main, ["query", "runs"])
    assert result.exit_code == 2 and "db must be a string" in result.output


def test_a_query_reads_the_database_the_toml_names(folder: Path) -> None:
    (folder.parent / "bringup.toml").write_text('db = "missing.db"\n')

    result = CliRunner().invoke(main, ["query", "runs"])

    assert result.exit_code == 2
    assert f"no database at {folder.parent / 'missing.db'}" in result.stderr
    assert not (folder.parent / "missing.db").exists()


def test_a_run_says_where_it_recorded_and_the_query_finds_it(folder: Path, simlab: SimLab) -> None:
    (folder.parent / "bringup.toml").write_text('db = "lab.db"\n')
    simlab.write_station(folder / "station.yaml")

    result = CliRunner().invoke(main, ["run", str(ROOT / "runbooks" / "power_on.yaml"), "--station",
                                       "station.yaml", "--chip", "SIM-0001"])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"recorded in sqlite:///{folder.parent / 'lab.db'}"
    assert not (folder / "lab.db").exists()
    runs = CliRunner().invoke(main, ["query", "runs", "--format", "csv"])
    assert runs.exit_code == 0 and re.search(r"\nSIM-0001|,SIM-0001,", runs.stdout)
