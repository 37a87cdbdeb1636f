"""What the driver layer costs per query: E36312A `measure_voltage` against a raw pyvisa query.

Both talk to the same simulated E36312A (its own pyvisa session each) and send the same
command, `MEAS:VOLT? (@1)`, with Nagle off on both sockets (the driver turns it off; the raw
session gets the same, so the comparison is of the Python layers, not of TCP settings). Rounds
alternate A, B, A, B so that drift in the machine's load hits both sides alike; the ratio is the
median of each round's ratio, the times the medians of each side's per-query time.

    python benchmarks/scpi_overhead.py [--rounds 40] [--queries 100]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyvisa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bringup.simlab import SimLab
from instruments.registry import open_driver

COMMAND = "MEAS:VOLT? (@1)"
ALLOWED_RATIO = 1.10


def seconds_per_query(query: Callable[[], object], queries: int) -> float:
    start = time.perf_counter()
    for _ in range(queries):
        query()
    return (time.perf_counter() - start) / queries


def disable_nagle(resource: pyvisa.resources.MessageBasedResource) -> None:
    sock = resource.visalib.sessions[resource.session].interface
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def measure(rounds: int, queries: int) -> tuple[list[float], list[float]]:
    """Seconds per query in each round: (driver, raw pyvisa)."""
    with SimLab() as lab:
        resource = lab.resources["psu_core"]
        manager = pyvisa.ResourceManager("@py")
        raw = manager.open_resource(resource, read_termination="\n", write_termination="\n", timeout=2000)
        disable_nagle(raw)
        supply = open_driver("keysight_e36312a", resource, name="psu_core", resource_manager=manager)
        try:
            channel = supply.channel(1)
            channel.set_voltage(0.8)  # a non-zero reading, so both parse a real number
            raw_query = lambda: float(raw.query(COMMAND))  # noqa: E731  (parsed, like the driver)
            seconds_per_query(channel.measure_voltage, queries)  # warm up both paths
            seconds_per_query(raw_query, queries)
            driver_times, raw_times = [], []
            for _ in range(rounds):
                driver_times.append(seconds_per_query(channel.measure_voltage, queries))
                raw_times.append(seconds_per_query(raw_query, queries))
        finally:
            supply.close()
            raw.close()
            manager.close()
    return driver_times, raw_times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--queries", type=int, default=100, help="queries per round and side")
    args = parser.parse_args()
    driver_times, raw_times = measure(args.rounds, args.queries)
    driver_s, raw_s = statistics.median(driver_times), statistics.median(raw_times)
    ratio = statistics.median(d / r for d, r in zip(driver_times, raw_times, strict=True))
    verdict = "OK" if ratio <= ALLOWED_RATIO else f"OVER the {ALLOWED_RATIO:.2f}x budget"
    print(f"driver measure_voltage: {driver_s * 1e6:8.1f} us/query  {1 / driver_s:8.0f} queries/s")
    print(f"raw pyvisa query:       {raw_s * 1e6:8.1f} us/query  {1 / raw_s:8.0f} queries/s")
    print(
        f"scpi_overhead: driver {driver_s * 1e6:.1f} us vs raw {raw_s * 1e6:.1f} us per {COMMAND!r}, "
        f"ratio {ratio:.3f}x ({verdict}), {1 / driver_s:.0f} queries/s; "
        f"{args.rounds} ABAB rounds x {args.queries} queries"
    )
    return 0 if ratio <= ALLOWED_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
