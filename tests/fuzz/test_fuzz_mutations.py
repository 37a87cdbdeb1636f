"""Hypothesis over station files, runbooks and suites: the shipped files with flipped bytes,
schema-shaped files with hostile values, and arbitrary text. Every case ends in acceptance or
one `file:line: what — fix` line per mistake — never a traceback, a hang or runaway memory.

By default a few hundred cases; `-m slow` runs more than 5,000.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fuzz_support import SHIPPED_RUNBOOKS, SHIPPED_STATION, SHIPPED_SUITE, assert_clean_errors, outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SHIPPED = {
    "station": [SHIPPED_STATION],
    "runbook": SHIPPED_RUNBOOKS,
    "suite": [SHIPPED_SUITE],
}
# Default run: ~300 cases in total; slow run: > 5,000.
FLIPS = {"station": (80, 2000), "runbook": (30, 600), "suite": (30, 800)}
SHAPED, TEXT = (80, 1500), (60, 1000)
MEMORY_GROWTH_BYTES = 256 * 1024 * 1024


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where a mutated suite still finds the ELFs it names."""
    folder = tmp_path_factory.mktemp("fuzz")
    for elf in SHIPPED_SUITE.parent.glob("*.elf"):
        shutil.copy(elf, folder / elf.name)
    return folder


def _check(kind: str, path: Path, *, need_line: bool = True) -> None:
    lines = outcome(kind, path)
    if lines:
        assert_clean_errors(lines, path, need_line=need_line)


# ----------------------------------------------------------------------- flipped bytes
def _flip_cases(kind: str, examples: int) -> Callable[[Path], None]:
    originals = [path.read_bytes() for path in SHIPPED[kind]]

    @_settings(examples)
    @given(data=st.data())
    def run(workdir: Path, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(originals))
        flips = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)),
                                   min_size=1, max_size=3))
        mutated = bytearray(original)
        for position, value in flips:
            mutated[position] = value
        path = workdir / f"mutated-{kind}.yaml"
        path.write_bytes(bytes(mutated))
        _check(kind, path)

    return run


@pytest.mark.parametrize("kind", list(FLIPS))
def test_shipped_files_with_flipped_bytes(kind: str, workdir: Path) -> None:
    before = _rss()
    _flip_cases(kind, FLIPS[kind][0])(workdir)
    assert _rss() - before < MEMORY_GROWTH_BYTES


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(FLIPS))
def test_shipped_files_with_flipped_bytes_soak(kind: str, workdir: Path) -> None:
    before = _rss()
    _flip_cases(kind, FLIPS[kind][1])(workdir)
    assert _rss() - before < MEMORY_GROWTH_BYTES


# ---------------------------------------------------------------- hostile values in shape
HOSTILE_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e-9, 1e300, 50003, 10**23, 2**32, 2**64, -(2**63), math.inf, math.nan]),
    st.integers(min_value=-(2**70), max_value=2**70),
)
HOSTILE_VALUES = st.one_of(
    HOSTILE_NUMBERS,
    st.text(max_size=40),
    st.sampled_from(["(", "[z-a]", "*", "", "random", "directed", "VDD_CORE", "power_on", "run_vectors",
                     "\x00", "a" * 3000]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a nested mapping/list: where a hostile value can go."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _replace(data: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _shaped_cases(examples: int) -> Callable[[Path], None]:
    shipped = [("station", SHIPPED_STATION), *(("runbook", p) for p in SHIPPED_RUNBOOKS),
               ("suite", SHIPPED_SUITE)]

    @_settings(examples)
    @given(data=st.data())
    def run(workdir: Path, data: st.DataObject) -> None:
        kind, source = data.draw(st.sampled_from(shipped))
        tree = yaml.safe_load(source.read_text())
        for _ in range(data.draw(st.integers(1, 3))):
            path = data.draw(st.sampled_from(_paths(tree)))
            _replace(tree, path, data.draw(HOSTILE_VALUES))
        if data.draw(st.booleans()):  # a key a person might add by mistake
            tree[data.draw(st.sampled_from(["rails", "steps", "name", "extra", "vectors"]))] = \
                data.draw(HOSTILE_VALUES)
        path = workdir / f"shaped-{kind}.yaml"
        path.write_text(yaml.safe_dump(tree, allow_unicode=False, width=200))
        _check(kind, path)

    return run


def test_schema_shaped_files_with_hostile_values(workdir: Path) -> None:
    _shaped_cases(SHAPED[0])(workdir)


@pytest.mark.slow
def test_schema_shaped_files_with_hostile_values_soak(workdir: Path) -> None:
    _shaped_cases(SHAPED[1])(workdir)


# ------------------------------------------------------------------------ arbitrary text
def _text_cases(examples: int) -> Callable[[Path], None]:
    yamlish = st.lists(st.sampled_from(["a:", " ", "- ", "\n", "  ", "&x", "*x", "!!str", "[", "]",
                                        "{", "}", ",", ": ", "'", '"', "<<:", "1e9", ".inf", "#", "|",
                                        "---", "?", "\t", "\x00", "\u2028", "é"]), max_size=60)

    @_settings(examples)
    @given(kind=st.sampled_from(["station", "runbook", "suite"]),
           text=st.one_of(st.text(max_size=200), yamlish.map("".join)))
    def run(workdir: Path, kind: str, text: str) -> None:
        path = workdir / f"text-{kind}.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        _check(kind, path)

    return run


def test_arbitrary_text(workdir: Path) -> None:
    _text_cases(TEXT[0])(workdir)


@pytest.mark.slow
def test_arbitrary_text_soak(workdir: Path) -> None:
    _text_cases(TEXT[1])(workdir)
