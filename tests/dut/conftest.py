"""A simulated chip powered on the way a bench does it: station file, PowerController, console."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bringup.dut.monitor import MonitorDut
from bringup.power import PowerController
from bringup.simlab import SimLab
from bringup.station import Station, load_station

CORE_RAIL = "VDD_CORE"
NOMINAL_CORE_V = 0.80
# Short, so a hung chip fails a test in about half a second, yet far above a healthy reply.
DUT_TIMEOUT_S = 0.5


@dataclass
class PoweredChip:
    lab: SimLab
    station: Station
    power: PowerController
    dut: MonitorDut

    def set_core_margin(self, margin_v: float) -> None:
        """Move VDD_CORE so the die sits `margin_v` above its Vmin (negative: below)."""
        at_die = self.lab.physics.core_margin_v()
        setpoint = self.power.setpoint(CORE_RAIL) or NOMINAL_CORE_V
        self.power.set_rail(CORE_RAIL, round(setpoint - (at_die - margin_v), 4))

    def power_cycle(self) -> None:
        self.power.safe_off("power cycle")
        self.power.close()
        self.power = power_controller(self.station)
        self.power.power_on()
        self.dut.wait_for_boot()


def power_controller(station: Station) -> PowerController:
    spec = station.spec
    assert spec.clock is not None, "the simlab station drives the chip's reference clock"
    return PowerController(station.rails, spec.power_on_order,
                           clock=(station.instruments[spec.clock.source], spec.clock))


@pytest.fixture
def powered_chip(simlab: SimLab, tmp_path: Path) -> Iterator[PoweredChip]:
    """The chip at nominal, booted, with the banner consumed; always powered off afterwards."""
    station = Station.open(load_station(simlab.write_station(tmp_path / "station.yaml")))
    dut = MonitorDut(station.console, name=simlab.chip_serial, timeout_s=DUT_TIMEOUT_S)
    chip = PoweredChip(simlab, station, power_controller(station), dut)
    try:
        chip.power.power_on()
        dut.wait_for_boot()
        yield chip
    finally:
        chip.power.safe_off("test finished")
        chip.power.close()
        station.close()
