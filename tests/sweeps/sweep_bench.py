"""Helpers for sweep tests on the simulated lab: a bench per chip, runs, and the recorded map."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from bringup.api import run_runbook
from bringup.db.engine import make_engine
from bringup.db.queries import ShmooMap, shmoo_maps
from bringup.report.shmoo_grid import ShmooGrid, shmoo_grid
from bringup.sequencer import ChipInfo, RunReport
from bringup.simlab import SimLab

ROOT = Path(__file__).resolve().parents[2]
TIME_SCALE = 1000.0  # the forcer settles and soaks in a fraction of a second


@dataclass
class SweepBench:
    lab: SimLab
    station: Path
    db_url: str
    folder: Path

    def runbook(self, body: str, name: str = "sweep") -> Path:
        path = self.folder / f"{name}.yaml"
        path.write_text(f"name: {name}\nsteps:\n" + textwrap.indent(textwrap.dedent(body).strip(), "  ") + "\n")
        return path

    def run(self, body: str, *, chip: ChipInfo | None = None, **options) -> RunReport:
        chip = chip or ChipInfo(serial=self.lab.chip_serial)
        return run_runbook(self.runbook(body), self.station, chip, db_url=self.db_url,
                           vector_dirs=[ROOT / "runbooks" / "vectors"], monitor_hz=20, **options)

    def maps(self, run_id: str) -> list[ShmooMap]:
        engine = make_engine(self.db_url)
        try:
            return shmoo_maps(engine, run_id)
        finally:
            engine.dispose()


def open_bench(folder: Path, serial: str, db_url: str | None = None,
               die: tuple[int, int] | None = None) -> SweepBench:
    """A started lab for `serial` with its station file; the caller stops the lab."""
    folder.mkdir(parents=True, exist_ok=True)
    lab = SimLab(chip_serial=serial, time_scale=TIME_SCALE, die=die).start()
    station = lab.write_station(folder / "station.yaml")
    return SweepBench(lab, station, db_url or f"sqlite:///{folder / 'lab.db'}", folder)


def grids(sweep: ShmooMap) -> dict[float | None, ShmooGrid]:
    """The map of each temperature of a sweep step."""
    return {temp: shmoo_grid(sweep.at(temp)) for temp in sweep.temperatures}


def shmoo_body(method: str, volts: str, mhz: str, temps: str = "[]", extra: str = "") -> str:
    return f"""
    - step: power_on
    - step: shmoo
      method: {method}
      volts: {volts}
      mhz: {mhz}
      temperatures_c: {temps}
      hang_timeout_s: 0.5
      soak_s: 5
    {extra}
    - step: power_off
    """
