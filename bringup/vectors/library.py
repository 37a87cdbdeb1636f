"""Where a runbook's `suite:` names lead: suite files in a folder, and seeded random suites.

`suite: directed` is `<vectors dir>/directed.yaml`; `suite: random` generates `count` programs
from `seed` (the same seed always gives the same vectors, so a resumed run sees the same ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bringup.vectors.generator import generate_program
from bringup.vectors.golden import GoldenCache, compute_golden
from bringup.vectors.model import Vector
from bringup.vectors.suite import load_suite

RANDOM_SUITE = "random"


class VectorLibrary:
    def __init__(self, folders: Iterable[str | Path], cache: GoldenCache) -> None:
        self.folders = [Path(folder) for folder in folders]
        self.cache = cache

    def names(self) -> set[str]:
        found = {path.stem for folder in self.folders if folder.is_dir() for path in folder.glob("*.yaml")}
        return found | {RANDOM_SUITE}

    def vectors(self, suite: str, *, seed: int = 1, count: int = 20, length: int = 50) -> list[Vector]:
        if suite == RANDOM_SUITE:
            return [
                generate_program(f"{seed}-{index}", length, name=f"random-{seed}-{index}").vector
                for index in range(count)
            ]
        for folder in self.folders:
            path = folder / f"{suite}.yaml"
            if path.is_file():
                return load_suite(path).vectors
        raise FileNotFoundError(f"no vector suite '{suite}' in {', '.join(map(str, self.folders))}")

    def goldens(self, vectors: list[Vector]) -> dict[str, bytes]:
        """Golden signature by content hash (from the cache, else computed by the reference core)."""
        goldens = compute_golden(vectors, self.cache)
        return {golden.vector.content_hash: golden.signature for golden in goldens}
