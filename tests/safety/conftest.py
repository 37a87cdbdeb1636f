"""`bench`: the simulated lab with its station file, a fresh database and an SCPI command log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from safety_bench import SafetyBench, bench_for

from bringup.simlab import SimLab


@pytest.fixture
def bench(simlab: SimLab, tmp_path: Path) -> Iterator[SafetyBench]:
    made = bench_for(simlab, tmp_path)
    yield made
    if made._engine is not None:
        made._engine.dispose()
    assert not simlab.chip.damaged, f"the test damaged the chip: {simlab.chip.damage}"
