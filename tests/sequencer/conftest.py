"""The `bench` fixture: the simulated lab with its station file and a fresh database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sequencer_bench import INSTRUMENT_TIMEOUT_S, Bench

from bringup.simlab import SimLab


@pytest.fixture
def bench(simlab: SimLab, tmp_path: Path) -> Iterator[Bench]:
    station = tmp_path / "station.yaml"
    text = simlab.station_text()
    # Short instrument timeouts: a supply that stops answering is found in half a second.
    text = re.sub(r'(resource: "[^"]+")', rf"\1, timeout_s: {INSTRUMENT_TIMEOUT_S}", text)
    station.write_text(text)
    yield Bench(simlab, station, f"sqlite:///{tmp_path / 'lab.db'}", tmp_path)
    # Whatever a test did, the simulated chip must never be left damaged.
    assert not simlab.chip.damaged, f"the test damaged the chip: {simlab.chip.damage}"


