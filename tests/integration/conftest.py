"""Fixtures: `bench` (every driver open on the `simlab` fixture) and `lab_factory` (more labs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from integration_bench import Bench, open_bench

from bringup.simlab import SimLab


@pytest.fixture
def bench(simlab: SimLab) -> Iterator[Bench]:
    opened = open_bench(simlab)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def lab_factory() -> Iterator[Callable[..., SimLab]]:
    """Start extra labs (another chip serial, another time scale); all stopped afterwards."""
    labs: list[SimLab] = []

    def start(chip_serial: str = "SIM-0001", time_scale: float = 100.0) -> SimLab:
        lab = SimLab(chip_serial=chip_serial, time_scale=time_scale).start()
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()
