"""Driver registry: names from station files -> classes, roles, lazy imports, open_driver."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from instruments import roles
from instruments.console import SerialConsole
from instruments.errors import UnknownDriver
from instruments.registry import DRIVERS, driver_class, driver_role, known_drivers, open_driver

STATION_DRIVER_NAMES = [
    "keysight_e36312a",
    "rigol_dp832",
    "keysight_34465a",
    "temptronic_ats",
    "keysight_33500b",
    "serial_console",
]
REPO = Path(__file__).resolve().parents[2]


def test_every_station_driver_name_is_known():
    assert known_drivers() == sorted(STATION_DRIVER_NAMES)


@pytest.mark.parametrize("name", [n for n in STATION_DRIVER_NAMES if n != "serial_console"])
def test_each_scpi_driver_opens_on_its_sim_and_fulfils_its_role(name, sim_manager):
    instrument = open_driver(
        name, "TCPIP0::127.0.0.1::5025::SOCKET", resource_manager=sim_manager(name), name="x"
    )
    with instrument:
        assert isinstance(instrument, getattr(roles, driver_role(name)))
        assert instrument.name == "x (TCPIP0::127.0.0.1::5025::SOCKET)"


def test_console_driver_is_the_serial_console():
    assert driver_class("serial_console") is SerialConsole
    assert driver_role("serial_console") == "Console"


def test_unknown_driver_lists_the_known_ones():
    with pytest.raises(UnknownDriver) as caught:
        open_driver("keysight_e3631a", "TCPIP0::127.0.0.1::5025::SOCKET")
    message = str(caught.value)
    assert "'keysight_e3631a'" in message
    assert all(name in message for name in STATION_DRIVER_NAMES)


def test_registry_imports_drivers_lazily_and_instruments_never_imports_bringup():
    probe = textwrap.dedent(
        """
        import sys
        import instruments.registry
        lazy = [e.module for e in instruments.registry.DRIVERS.values() if e.module in sys.modules]
        assert not lazy, lazy
        for name in instruments.registry.known_drivers():
            instruments.registry.driver_class(name)
        import instruments.roles, instruments.scpi
        leaked = sorted(m for m in sys.modules if m == "bringup" or m.startswith("bringup."))
        assert not leaked, leaked
        print("ok", len(instruments.registry.DRIVERS))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", str(len(DRIVERS))]
