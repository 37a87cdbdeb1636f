"""Shared fixtures: `simlab`, a running simulated bench that is always stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bringup.simlab import SimLab

# Accelerated so the forcer settles and the meter integrates in milliseconds of test time.
SIMLAB_TIME_SCALE = 100.0


@pytest.fixture(autouse=True)
def private_station_leases(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Station leases in a folder of this test's own (inherited by the `bringup` it starts):
    every simulated bench is named `simlab`, and other test sessions on this machine use theirs."""
    monkeypatch.setenv("BRINGUP_LEASE_DIR", str(tmp_path_factory.mktemp("leases")))


@pytest.fixture
def simlab() -> Iterator[SimLab]:
    lab = SimLab(chip_serial="SIM-0001", time_scale=SIMLAB_TIME_SCALE)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()
