"""What every fuzz case must end in: acceptance, or one `file:line: what — fix` line per mistake.

`outcome(kind, path)` validates a file the way `bringup run` does before it opens an
instrument (a runbook against the shipped station, with every suite it names loaded) under a
per-case time limit; anything but acceptance or a ConfigError — a traceback, a hang — fails
the case.
"""

from __future__ import annotations

import functools
import re
import signal
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bringup.api import vector_library
from bringup.runbook import load_runbook
from bringup.station import StationSpec, load_station
from bringup.vectors.library import VectorLibrary, check_suites
from bringup.vectors.suite import load_suite
from bringup.yamlfile import ConfigError, ConfigErrors

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
SHIPPED_STATION = ROOT / "runbooks" / "stations" / "simlab.yaml"
SHIPPED_RUNBOOKS = sorted((ROOT / "runbooks").glob("*.yaml"))
SHIPPED_SUITE = ROOT / "runbooks" / "vectors" / "directed.yaml"
CASE_TIMEOUT_S = 10.0  # generous for 2 shared cores; a hang is minutes, not seconds
CASE_MEMORY_BYTES = 96 * 1024 * 1024  # a hostile file must not cost more than this to refuse
# `path:line: message` (whole-file problems such as "not a regular file" have no line).
ERROR_LINE = re.compile(r"^(?P<path>.+?):(?:(?P<line>\d+):)? \S")


class CaseTimedOut(Exception):
    """Validation of one case ran past CASE_TIMEOUT_S: a hang."""


@contextmanager
def time_limit(seconds: float = CASE_TIMEOUT_S) -> Iterator[None]:
    """Interrupt the case after `seconds` (SIGALRM, main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise CaseTimedOut(f"validation took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@functools.lru_cache(maxsize=1)
def shipped_station() -> StationSpec:
    return load_station(SHIPPED_STATION)


@functools.lru_cache(maxsize=8)
def _library(folder: Path) -> VectorLibrary:
    """One library per folder: random suites are generated once, not for every case."""
    return vector_library(folder / "runbook.yaml")


def validate(kind: str, path: Path) -> None:
    """Validate `path` as a `kind` file (station, runbook or suite) as `bringup run` would."""
    if kind == "station":
        load_station(path)
    elif kind == "runbook":
        loaded = load_runbook(path, shipped_station())
        check_suites(loaded, _library(path.parent))
    elif kind == "suite":
        load_suite(path)
    else:
        raise ValueError(kind)


def outcome(kind: str, path: Path) -> list[str]:
    """[] when the file is accepted, else its error lines; any other ending fails the test."""
    with time_limit():
        try:
            validate(kind, path)
        except ConfigErrors as exc:
            return [str(error) for error in exc.errors]
        except ConfigError as exc:
            return [str(exc)]
    return []


def measured_outcome(kind: str, path: Path) -> tuple[list[str], int]:
    """`outcome` and the peak of memory allocated while validating."""
    tracemalloc.start()
    try:
        lines = outcome(kind, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines, peak


def assert_clean_errors(lines: list[str], path: Path, *, need_line: bool = True) -> None:
    """Every error is one line naming a file (this one, or a file it refers to) and, for a
    problem inside a file, its line; none is empty or a traceback."""
    assert lines, f"{path} was accepted"
    for text in lines:
        assert "\n" not in text and "Traceback" not in text, text
        found = ERROR_LINE.match(text)
        assert found, f"not a 'file:line: what' line: {text!r}"
        assert Path(found["path"]).name or found["path"], text
        if need_line and Path(found["path"]) == path:
            assert found["line"], f"no line number: {text!r}"
        assert len(text) < 2000, f"an error line of {len(text)} characters"
