"""The `tui_bench` fixture: the simulated lab, a station file, test runbooks and a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_bench import TuiBench, make_bench

from bringup.simlab import SimLab


@pytest.fixture
def tui_bench(simlab: SimLab, tmp_path: Path) -> Iterator[TuiBench]:
    yield make_bench(simlab, tmp_path)
    assert not simlab.chip.damaged, f"the test damaged the chip: {simlab.chip.damage}"
