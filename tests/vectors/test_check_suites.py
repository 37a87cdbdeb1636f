"""Every suite a runbook names is loaded and checked before any instrument is opened; suites are
found beside the runbook, then in the shipped folder, then in --vectors folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bringup.api import SHIPPED_VECTORS, run_runbook, vector_library
from bringup.runbook import load_runbook
from bringup.station import load_station
from bringup.vectors.library import check_suites
from bringup.yamlfile import ConfigErrors

ROOT = Path(__file__).parents[2]
STATION = ROOT / "runbooks" / "stations" / "simlab.yaml"  # its instruments are nowhere: never opened
RUNBOOK = "name: r\nsteps:\n  - step: power_on\n  - step: run_vectors\n    suite: {suite}\n  - step: power_off\n"


def _runbook(folder: Path, suite: str) -> Path:
    path = folder / "runbook.yaml"
    path.write_text(RUNBOOK.format(suite=suite))
    return path


def _suite(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for elf in SHIPPED_VECTORS.glob("*.elf"):
        shutil.copy(elf, folder / elf.name)
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nmax_steps: 20000\nvectors:\n{body}")
    return path


def test_a_broken_vector_stops_the_run_before_any_instrument(tmp_path: Path) -> None:
    suite = _suite(tmp_path / "vectors", "mine", "  - file: alu.elf\n  - file: march.elf\n    entry: 0x10\n")
    with pytest.raises(ConfigErrors) as refused:  # an instrument opened first would raise otherwise
        run_runbook(_runbook(tmp_path, "mine"), STATION, "SIM-0001", db_url=f"sqlite:///{tmp_path / 'db'}")
    [error] = refused.value.errors
    assert str(error).startswith(f"{suite}:5: vector 'march'") and "entry" in str(error)
    assert not (tmp_path / "db").exists()


def test_a_missing_suite_names_where_it_looked_and_the_vectors_option(tmp_path: Path) -> None:
    extra = tmp_path / "more"
    extra.mkdir()
    runbook = _runbook(tmp_path, "nightly")
    library = vector_library(runbook, [extra])
    with pytest.raises(ConfigErrors) as refused:
        check_suites(load_runbook(runbook, load_station(STATION)), library)
    [error] = refused.value.errors
    text = str(error)
    assert text.startswith(f"{runbook}:5: no vector suite 'nightly'")
    for folder in (tmp_path / "vectors", SHIPPED_VECTORS, extra):
        assert str(folder) in text
    assert "--vectors" in text


def test_suites_beside_the_runbook_come_first_then_shipped_then_extra(tmp_path: Path) -> None:
    _suite(tmp_path / "vectors", "directed", "  - name: only-alu\n    file: alu.elf\n")
    _suite(tmp_path / "more", "extra", "  - file: branch.elf\n")
    _suite(tmp_path / "more", "directed", "  - name: never\n    file: march.elf\n")
    library = vector_library(tmp_path / "runbook.yaml", [tmp_path / "more"])
    assert [v.name for v in library.vectors("directed")] == ["only-alu"]
    assert [v.name for v in library.vectors("extra")] == ["branch"]
    shipped = vector_library(tmp_path / "elsewhere" / "runbook.yaml", [tmp_path / "more"])
    assert [v.name for v in shipped.vectors("directed")] == ["alu", "muldiv", "branch", "march"]


def test_the_run_executes_the_vectors_that_were_checked(tmp_path: Path) -> None:
    library = vector_library(_runbook(tmp_path, "random"))
    first = library.vectors("random", seed=3, count=2, length=10)
    assert library.vectors("random", seed=3, count=2, length=10) is first
