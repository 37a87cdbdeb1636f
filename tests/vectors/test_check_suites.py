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


def test_a_random_suite_is_checked_by_its_parameters_and_made_only_as_the_run_asks(tmp_path: Path) -> None:
    from bringup.vectors.generator import generate_program

    path = tmp_path / "runbook.yaml"
    path.write_text(RUNBOOK.format(suite="random\n    seed: 3\n    count: 10000\n    length: 10"))
    library = vector_library(path)
    check_suites(load_runbook(path), library)
    suite = library.vectors("random", seed=3, count=10000, length=10)
    assert (len(suite), suite.made) == (10000, 0)  # nothing made before power-on
    assert suite[5].content_hash == generate_program("3-5", 10, name="random-3-5").vector.content_hash
    assert suite.made == 6  # in order, up to the one asked for, from the seed


def test_a_random_suite_made_from_two_threads_is_one_suite_in_order() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from bringup.vectors.library import RandomSuite

    suite = RandomSuite(seed=9, count=40, length=5)
    with ThreadPoolExecutor(2) as pool:
        walks = list(pool.map(lambda _: [v.name for v in suite], range(2)))
    assert walks[0] == walks[1] == [f"random-9-{i}" for i in range(40)]
    assert suite.made == 40


@pytest.mark.parametrize(("seed", "count", "length"), [(-1, 1, 1), (1, 0, 1), (1, 1, 0), (1, 1, 1001)])
def test_random_suite_parameters_out_of_range_are_a_clear_error(seed: int, count: int, length: int) -> None:
    from bringup.vectors.library import RandomSuite

    with pytest.raises(ValueError, match=r"out of range — give an integer from"):
        RandomSuite(seed=seed, count=count, length=length)
