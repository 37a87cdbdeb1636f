"""Driver names used in station files -> driver classes (imported on first use) and roles."""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from instruments.errors import UnknownDriver


class DriverEntry(NamedTuple):
    module: str
    class_name: str
    #: The role protocol in `instruments.roles` the driver fulfils, or "Console".
    role: str


DRIVERS: dict[str, DriverEntry] = {
    "keysight_e36312a": DriverEntry("instruments.power.keysight_e36312a", "KeysightE36312A", "PowerSupply"),
    "rigol_dp832": DriverEntry("instruments.power.rigol_dp832", "RigolDP832", "PowerSupply"),
    "keysight_34465a": DriverEntry("instruments.meters.keysight_34465a", "Keysight34465A", "Multimeter"),
    "temptronic_ats": DriverEntry("instruments.thermal.temptronic_ats", "TemptronicATS", "ThermalForcer"),
    "keysight_33500b": DriverEntry("instruments.clocks.keysight_33500b", "Keysight33500B", "ClockSource"),
    "serial_console": DriverEntry("instruments.console", "SerialConsole", "Console"),
}


def known_drivers() -> list[str]:
    return sorted(DRIVERS)


def _entry(name: str) -> DriverEntry:
    try:
        return DRIVERS[name]
    except KeyError:
        raise UnknownDriver(name, known_drivers()) from None


def driver_role(name: str) -> str:
    """The role a driver fulfils: 'PowerSupply', 'Multimeter', ... or 'Console'."""
    return _entry(name).role


def driver_class(name: str) -> type:
    """The driver class, importing its module now."""
    entry = _entry(name)
    return getattr(importlib.import_module(entry.module), entry.class_name)


def open_driver(driver: str, resource_or_port: str, /, **options: Any) -> Any:
    """Open the instrument: a VISA resource string for SCPI drivers, a port for the console.

    `options` go to the driver (`name=`, `timeout_s=`, `backend=`, `resource_manager=`;
    `baudrate=` for the console).
    """
    return driver_class(driver)(resource_or_port, **options)
