"""What the process-level safety costs a run: the station lease plus the watchdog process (start,
ready, release), against a whole short run (power on, measure, power off) on the simulated lab
that includes them. Rounds alternate the two (ABAB) to cancel drift; prints the medians and the
ratio. Target: the guard is under 10 % of the shortest useful run.

    .venv/bin/python benchmarks/run_guard_overhead.py --rounds 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bringup.api import run_runbook
from bringup.lease import StationLease
from bringup.simlab import SimLab
from bringup.station import load_station
from bringup.watchdog import Watchdog, WatchdogConfig

SHORT_RUN = """name: short
steps:
  - step: power_on
  - step: measure
    rail: VDD_CORE
    quantity: voltage
    low: 0.78
    high: 0.82
  - step: power_off
"""


def guard_only(station: str, spec: dict, db_url: str) -> float:
    start = time.perf_counter()
    with StationLease(station, "b" * 32) as lease:
        watchdog = Watchdog(WatchdogConfig("b" * 32, spec, db_url), lease_fd=lease.fd).start()
        watchdog.wait_ready()
        watchdog.release()
    return time.perf_counter() - start


def whole_run(runbook: Path, station: Path, db_url: str) -> float:
    start = time.perf_counter()
    report = run_runbook(runbook, station, "SIM-0001", db_url=db_url)
    assert report.status == "passed", report.reason
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-guard-"))
    os.environ["BRINGUP_LEASE_DIR"] = str(folder)
    with SimLab("SIM-0001", time_scale=100.0) as lab:
        station = lab.write_station(folder / "station.yaml")
        runbook = folder / "short.yaml"
        runbook.write_text(SHORT_RUN)
        db_url = f"sqlite:///{folder / 'lab.db'}"
        spec = load_station(station)
        whole_run(runbook, station, db_url)  # warm: database created, imports done
        guards, runs = [], []
        for _ in range(args.rounds):
            guards.append(guard_only(spec.name, spec.model_dump(mode="json"), db_url))
            runs.append(whole_run(runbook, station, db_url))
    guard, run = statistics.median(guards), statistics.median(runs)
    print(f"lease + watchdog {guard * 1000:.0f} ms, whole short run {run * 1000:.0f} ms "
          f"(medians of {args.rounds}): the guard is {guard / run:.1%} of the run")


if __name__ == "__main__":
    main()
