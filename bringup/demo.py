"""`bringup demo`: the whole toolkit against the simulated lab, with no hardware.

It starts the simulated lab in this process, writes the lab's station file next to you, and
checks the bench through the real drivers over TCP and a pty, exactly as on a real bench.
"""

from __future__ import annotations

from pathlib import Path

STATION_FILE = Path("simlab-station.yaml")


def run_demo(chip_serial: str) -> int:
    from rich.console import Console

    from bringup.bench_check import check_station, print_report
    from bringup.simlab.lab import SimLab
    from bringup.station import load_station

    out = Console()
    with SimLab(chip_serial=chip_serial) as lab:
        lab.write_station(STATION_FILE)
        out.print(f"simulated lab up for chip [bold]{chip_serial}[/bold]; station file: {STATION_FILE}")
        report = check_station(load_station(STATION_FILE))
        print_report(report)
    return 0 if report.ok else 1
