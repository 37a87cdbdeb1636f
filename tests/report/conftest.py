"""One real run on the simulated lab, recorded in a real SQLite file, shared by the report tests.

The runbook touches every section a report has: instruments, a thermal set point, rails,
measurements with limits, passing vectors at nominal voltage and failing ones at a low voltage
and a high clock (the simulated chip's Vmin), so the shmoo has both colours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bringup.api import run_runbook
from bringup.sequencer import ChipInfo
from bringup.simlab import SimLab

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = """\
name: report-check
steps:
  - step: set_temperature
    name: forcer to 25 °C
    celsius: 25
    window_c: 1.0
    soak_s: 1
    timeout_s: 300
  - step: power_on
  - step: measure
    name: VDD_CORE voltage
    rail: VDD_CORE
    quantity: voltage
    low: 0.76
    high: 0.84
  - step: measure
    name: VDD_CORE current
    rail: VDD_CORE
    quantity: current
    high: 1.2
  - step: measure
    name: die temperature
    quantity: die_temperature
    low: 0
    high: 105
  - step: run_vectors
    name: directed at 500 MHz
    suite: directed
    clock_mhz: 500
  - step: set_rail
    name: VDD_CORE down to 0.66 V
    rail: VDD_CORE
    volts: 0.66
  - step: run_vectors
    name: random at 800 MHz, 0.66 V
    suite: random
    seed: 7
    count: 12
    clock_mhz: 800
    on_fail: continue
  - step: set_rail
    name: VDD_CORE back to nominal
    rail: VDD_CORE
    volts: 0.80
  - step: power_off
"""


@dataclass(frozen=True)
class RecordedRun:
    db_url: str
    db_path: Path
    run_id: str
    status: str
    folder: Path


@pytest.fixture(scope="package")
def recorded_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordedRun]:
    folder = tmp_path_factory.mktemp("report")
    runbook = folder / "report-check.yaml"
    runbook.write_text(RUNBOOK, encoding="utf-8")
    station = folder / "station.yaml"
    db_path = folder / "lab.db"
    with SimLab(chip_serial="SIM-0001", time_scale=100.0) as lab:
        lab.write_station(station)
        report = run_runbook(runbook, station, ChipInfo(serial="SIM-0001", lot="LOT-7", wafer=3, die_x=12, die_y=-4),
                             db_url=f"sqlite:///{db_path}", operator="night shift",
                             vector_dirs=[ROOT / "runbooks" / "vectors"], monitor_hz=20)
    yield RecordedRun(f"sqlite:///{db_path}", db_path, report.run_id, report.status, folder)
