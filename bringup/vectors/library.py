"""Where a runbook's `suite:` names lead: suite files in folders, and seeded random suites.

`suite: directed` is `directed.yaml` in the first of the library's folders that has one (for a
run: `vectors/` beside the runbook, then the shipped runbooks/vectors, then `--vectors` folders);
`suite: random` is `count` programs generated from `seed` (the same seed always gives the same
vectors, so a resumed run sees the same ones), made lazily, in order, as they are first asked
for: a run's golden feeder thread makes them ahead of the chip (bringup/vectors/golden_pool.py),
so a 1,000-program suite costs no time before power-on.

`check_suites` loads every suite a runbook names before any instrument is opened: a suite that
is missing, unreadable or holds a vector that cannot run is a `file:line` error while the bench
is still untouched. What it loaded is what the run executes (the library keeps it). A random
suite is checked by its parameters (seed, count, length within bounds): the generator is ours,
and every program it makes from such parameters runs on the chip.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from bringup.vectors.golden import GoldenCache, compute_golden
from bringup.vectors.model import Vector, VectorError
from bringup.vectors.suite import load_suite
from bringup.yamlfile import ConfigError, ConfigErrors

if TYPE_CHECKING:
    from bringup.runbook import LoadedRunbook

RANDOM_SUITE = "random"


class SuiteNotFound(ConfigError):
    """A runbook names a suite that none of the library's folders holds."""


class RandomSuite(Sequence[Vector]):
    """``count`` random programs drawn from ``seed``, each made when first asked for (with all
    before it, in order) and kept; safe to use from several threads."""

    def __init__(self, seed: int, count: int, length: int) -> None:
        check_random_parameters(seed, count, length)
        self.seed, self.count, self.length = seed, count, length
        self._made: list[Vector] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.count

    @overload
    def __getitem__(self, index: int) -> Vector: ...
    @overload
    def __getitem__(self, index: slice) -> list[Vector]: ...
    def __getitem__(self, index: int | slice) -> Vector | list[Vector]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        at = operator.index(index)
        at = at + self.count if at < 0 else at
        if not 0 <= at < self.count:
            raise IndexError(f"random suite of {self.count} vectors has no vector {index}")
        if at >= len(self._made):
            self._make_up_to(at)
        return self._made[at]

    def __iter__(self) -> Iterator[Vector]:
        for index in range(self.count):
            yield self[index]

    @property
    def made(self) -> int:
        """How many programs exist so far."""
        return len(self._made)

    def _make_up_to(self, index: int) -> None:
        from bringup.vectors.generator import generate_program

        with self._lock:  # another thread may be making them: each is made once, in order
            while len(self._made) <= index:
                at = len(self._made)
                name = f"random-{self.seed}-{at}"
                self._made.append(generate_program(f"{self.seed}-{at}", self.length, name=name).vector)


def check_random_parameters(seed: int, count: int, length: int) -> None:
    """Raise ValueError ("what — fix") unless a random suite of these parameters can be made."""
    from bringup.runbook import MAX_RANDOM_COUNT, MAX_RANDOM_LENGTH

    for what, value, low, high in (("seed", seed, 0, 2**63 - 1), ("count", count, 1, MAX_RANDOM_COUNT),
                                   ("length", length, 1, MAX_RANDOM_LENGTH)):
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"random suite {what} {value!r} is out of range — give an integer "
                             f"from {low} to {high}")


class VectorLibrary:
    def __init__(self, folders: Iterable[str | Path], cache: GoldenCache) -> None:
        self.folders = _distinct(Path(folder) for folder in folders)
        self.cache = cache
        self._loaded: dict[tuple[Any, ...], Sequence[Vector]] = {}

    def names(self) -> set[str]:
        found = {path.stem for folder in self.folders if folder.is_dir() for path in folder.glob("*.yaml")}
        return found | {RANDOM_SUITE}

    def find(self, suite: str) -> Path | None:
        """The file of `suite` in the first folder that has it."""
        for folder in self.folders:
            path = folder / f"{suite}.yaml"
            if path.is_file():
                return path
        return None

    def vectors(self, suite: str, *, seed: int = 1, count: int = 20,
                length: int = 50) -> Sequence[Vector]:
        """The vectors of `suite`, loaded once: a run executes what `check_suites` checked
        (for `random`, a :class:`RandomSuite`, whose programs are made as they are asked for)."""
        key = (suite, seed, count, length) if suite == RANDOM_SUITE else (suite,)
        if key not in self._loaded:
            self._loaded[key] = self._load(suite, seed, count, length)
        return self._loaded[key]

    def _load(self, suite: str, seed: int, count: int, length: int) -> Sequence[Vector]:
        if suite == RANDOM_SUITE:
            return RandomSuite(seed, count, length)
        path = self.find(suite)
        if path is None:
            raise SuiteNotFound("runbook", None, *self.missing(suite))
        return load_suite(path).vectors

    def missing(self, suite: str) -> tuple[str, str]:
        """(message, fix) for a suite none of the folders holds."""
        looked = ", ".join(str(folder) for folder in self.folders) or "no folder"
        known = ", ".join(sorted(self.names()))
        return (f"no vector suite '{suite}' (looked for {suite}.yaml in {looked})",
                f"use one of: {known}; or add the folder that holds it with --vectors")

    def goldens(self, vectors: Sequence[Vector]) -> dict[str, bytes]:
        """Golden signature by content hash (from the cache, else computed by the reference core)."""
        goldens = compute_golden(vectors, self.cache)
        return {golden.vector.content_hash: golden.signature for golden in goldens}


def check_suites(runbook: LoadedRunbook, library: VectorLibrary) -> None:
    """Load and check every suite the runbook's run_vectors steps name; raise every problem.

    Each problem is one line: the runbook's line for a missing suite or a random suite that
    cannot be generated, the suite file's line for a vector that cannot run.
    """
    errors: list[ConfigError] = []
    for index, step in enumerate(runbook.steps):
        if step.step != "run_vectors":
            continue
        at = ("steps", index, "suite")
        try:
            library.vectors(step.suite, seed=step.seed, count=step.count, length=step.length)
        except SuiteNotFound:
            errors.append(ConfigError(runbook.path, runbook.line_of(at), *library.missing(step.suite)))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
        except ConfigError as exc:
            errors.append(exc)
        except (VectorError, ValueError) as exc:  # a random suite's parameters out of range
            message, _, fix = str(exc).partition(" — ")
            errors.append(ConfigError(runbook.path, runbook.line_of(at),
                                      f"step {index + 1} suite {step.suite}: {message}", fix))
    if errors:
        raise ConfigErrors(errors)


def _distinct(folders: Iterable[Path]) -> list[Path]:
    """Folders in order, each once (a runbook in runbooks/ finds the shipped folder twice)."""
    seen: set[Path] = set()
    kept = []
    for folder in folders:
        key = folder.resolve()
        if key not in seen:
            seen.add(key)
            kept.append(folder)
    return kept
