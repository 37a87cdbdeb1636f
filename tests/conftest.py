"""Shared fixtures: `simlab`, a running simulated bench that is always stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bringup.simlab import SimLab

# Accelerated so the forcer settles and the meter integrates in milliseconds of test time.
SIMLAB_TIME_SCALE = 100.0


@pytest.fixture(scope="session", autouse=True)
def session_station_leases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A module-scoped bench (a shmoo several tests read) starts before any per-test fixture:
    its leases go in this session's folder, never the machine's /run/lock/bringup, where another
    test session's bench of the same name would make it busy."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRINGUP_LEASE_DIR", str(tmp_path_factory.mktemp("session-leases")))
        yield


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
