"""Adaptive against grid shmoo: chip runs and wall-clock for the same boundary.

    .venv/bin/python benchmarks/shmoo_efficiency.py [--serials SIM-0001,SIM-0002,SIM-0003]
        [--hang-timeout 0.3] [--mhz-step 100]

For each chip serial a simulated lab is started and the same shmoo (VDD_CORE 0.55-0.95 V in
5 mV steps by 600-1600 MHz in 100 MHz steps, two random vectors a point) is run as a user's run
is: a runbook through `bringup.api.run_runbook`, recorded in SQLite. Once with `method: grid`
(the baseline: every point) and once with `method: adaptive`. Chip runs are the programs the
simulated chip ran (counted at its executor, hung ones included); the boundary is read back
from the record and must be identical.

Goal: adaptive at most 15 % of the grid's chip runs, with an identical boundary.

The station's VDD_CORE current limit is raised to 2.5 A: at 0.95 V and 1.6 GHz the simulated
die draws 1.56 A, above the shipped station's 1.5 A (a real bench would do the same).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bringup.api import run_runbook  # noqa: E402
from bringup.db.engine import make_engine  # noqa: E402
from bringup.db.queries import shmoo_maps  # noqa: E402
from bringup.report.shmoo_grid import shmoo_grid  # noqa: E402
from bringup.simlab import SimLab  # noqa: E402

TIME_SCALE = 100.0
RUNBOOK = """name: shmoo-{method}
steps:
  - step: power_on
  - step: shmoo
    method: {method}
    volts: {{start: 0.55, stop: 0.95, step: 0.005}}
    mhz: {{start: 600, stop: 1600, step: {mhz_step}}}
    suite: random
    count: 2
    length: 30
    repeats: 2
    probes: 3
    hang_timeout_s: {hang_timeout}
  - step: power_off
"""


class CountingExecutor:
    def __init__(self, inner: Any) -> None:
        self.inner, self.runs = inner, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.runs += 1
        return self.inner(*args, **kwargs)


def one_shmoo(serial: str, method: str, folder: Path, args: argparse.Namespace) -> tuple[int, float, list]:
    """(chip runs, wall seconds, boundary per MHz) of one shmoo on a fresh lab."""
    folder.mkdir(parents=True, exist_ok=True)
    with SimLab(chip_serial=serial, time_scale=TIME_SCALE) as lab:
        counter = CountingExecutor(lab.chip.executor)
        lab.chip.executor = counter
        station = folder / "station.yaml"
        station.write_text(lab.station_text().replace("current_limit_a: 1.5,", "current_limit_a: 2.5,", 1))
        runbook = folder / f"{method}.yaml"
        runbook.write_text(RUNBOOK.format(method=method, mhz_step=args.mhz_step,
                                          hang_timeout=args.hang_timeout))
        db_url = f"sqlite:///{folder / 'lab.db'}"
        start = time.perf_counter()
        report = run_runbook(runbook, station, serial, db_url=db_url,
                             vector_dirs=[ROOT / "runbooks" / "vectors"])
        wall = time.perf_counter() - start
        if report.status != "passed":
            raise SystemExit(f"{serial} {method}: {report.status}: {report.reason}")
        if lab.chip.damaged:
            raise SystemExit(f"{serial} {method}: the chip was damaged: {lab.chip.damage}")
    engine = make_engine(db_url)
    [sweep] = shmoo_maps(engine, report.run_id)
    engine.dispose()
    return counter.runs, wall, shmoo_grid(list(sweep.points)).boundary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serials", default="SIM-0001,SIM-0002,SIM-0003")
    parser.add_argument("--hang-timeout", type=float, default=0.3)
    parser.add_argument("--mhz-step", type=int, default=100)
    args = parser.parse_args()
    run_fractions, wall_ratios, identical = [], [], True
    with tempfile.TemporaryDirectory(prefix="shmoo-bench-") as tmp:
        for serial in args.serials.split(","):
            grid_runs, grid_wall, grid_edge = one_shmoo(serial, "grid", Path(tmp) / serial / "grid", args)
            adaptive_runs, adaptive_wall, adaptive_edge = one_shmoo(
                serial, "adaptive", Path(tmp) / serial / "adaptive", args)
            same = grid_edge == adaptive_edge
            identical &= same
            run_fractions.append(adaptive_runs / grid_runs)
            wall_ratios.append(adaptive_wall / grid_wall)
            edge = "identical" if same else f"DIFFERS: grid {grid_edge} adaptive {adaptive_edge}"
            print(f"{serial}: grid {grid_runs} chip runs in {grid_wall:.1f} s, adaptive {adaptive_runs} "
                  f"in {adaptive_wall:.1f} s: runs {run_fractions[-1]:.1%}, wall {wall_ratios[-1]:.1%}, "
                  f"boundary {edge}", flush=True)
    fraction = statistics.median(run_fractions)
    verdict = "PASS" if fraction <= 0.15 and identical else "FAIL"
    print(f"RESULT adaptive/grid chip runs median {fraction:.1%} (goal <= 15 %), wall-clock median "
          f"{statistics.median(wall_ratios):.1%}, boundary identical on {len(run_fractions)} serials: "
          f"{identical} -> {verdict}")


if __name__ == "__main__":
    main()
