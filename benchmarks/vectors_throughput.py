"""Validation-vector throughput on the simulated lab: where the time of a vector goes.

    .venv/bin/python benchmarks/vectors_throughput.py [--count 1000] [--length 50] [--repeat 3]

Random vectors run through MonitorDut on a simulated chip powered on through the station's
PowerController, as `bringup vectors run --station` does. Wall time is split into:

- transfer:  the UART exchanges that move a vector in and its results out (RESET, LOAD, DUMP);
- execution: the RUN exchange (the chip computing, plus one command round trip);
- golden:    waiting for the reference core's golden signatures (cold cache);
- compare:   everything else on the host (the comparison, the runner's bookkeeping).

Goal: golden + compare under 10 % of the total.

The simulated lab runs in a subprocess (`bringup simlab`), as the chip is separate silicon on
a real bench: while it computes, the host is free. The host uses that time for the goldens:
a worker process computes them in batches ahead of the chip, so the runner only waits for the
first batch. A golden costs two reference-core runs (bringup.vectors.golden runs each vector
on two RAM fills to catch reads of uninitialised memory) against one on the chip, so computed
in line they would be a third of the total; the CPU time they took is printed as well.
Vector generation is set-up and is not counted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bringup.dut.monitor import MonitorDut  # noqa: E402
from bringup.power import PowerController  # noqa: E402
from bringup.station import Station, load_station  # noqa: E402
from bringup.vectors import Vector, generate_program, reference_signature, run_one  # noqa: E402

TRANSFER, EXECUTION, GOLDEN, COMPARE = "transfer", "execution", "golden", "compare"
GOLDEN_BATCH = 20  # vectors per request to the golden worker
SIMLAB_START_TIMEOUT_S = 30.0


class TimedDut:
    """Passes every call to `dut`, adding its wall time to the transfer or execution total."""

    def __init__(self, dut: MonitorDut, totals: dict[str, float]) -> None:
        self._dut = dut
        self._totals = totals
        self.name = dut.name

    def _timed(self, bucket: str, method: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self._dut, method)(*args, **kwargs)
        finally:
            self._totals[bucket] += time.perf_counter() - start

    def reset(self) -> None:
        self._timed(TRANSFER, "reset")

    def load(self, address: int, data: bytes) -> None:
        self._timed(TRANSFER, "load", address, data)

    def read_memory(self, address: int, length: int) -> bytes:
        return self._timed(TRANSFER, "read_memory", address, length)

    def run(self, entry: int, max_steps: int, *, tohost: int | None = None) -> Any:
        return self._timed(EXECUTION, "run", entry, max_steps, tohost=tohost)


def golden_batch(vectors: list[Vector]) -> tuple[list[bytes], float]:
    """In the worker: the golden signatures of `vectors` (a cold cache) and the CPU time taken."""
    start = time.process_time()
    signatures = [reference_signature(vector) for vector in vectors]
    return signatures, time.process_time() - start


def measure(dut: MonitorDut, vectors: list[Vector], pool: ProcessPoolExecutor) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    timed = TimedDut(dut, totals)
    batches: list[Future[tuple[list[bytes], float]]] = [
        pool.submit(golden_batch, vectors[start:start + GOLDEN_BATCH])
        for start in range(0, len(vectors), GOLDEN_BATCH)
    ]
    failed = 0
    for index, batch in enumerate(batches):
        waited = time.perf_counter()
        signatures, cpu_s = batch.result()
        totals[GOLDEN] += time.perf_counter() - waited
        totals["golden_cpu"] += cpu_s
        for vector, golden in zip(vectors[index * GOLDEN_BATCH:], signatures, strict=False):
            before = totals[TRANSFER] + totals[EXECUTION]
            started = time.perf_counter()
            outcome = run_one(timed, vector, golden)  # type: ignore[arg-type]
            on_chip = totals[TRANSFER] + totals[EXECUTION] - before
            totals[COMPARE] += time.perf_counter() - started - on_chip
            failed += not outcome.passed
    totals["failed"] = failed
    return dict(totals)


@contextmanager
def simlab_process(folder: Path) -> Iterator[Path]:
    """`bringup simlab` in a subprocess; yields its station file once it is serving."""
    station = folder / "station.yaml"
    command = [sys.executable, "-c", "from bringup.cli import main; main()",
               "simlab", "--station-out", str(station), "--time-scale", "100"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:  # it prints the station file, then "Ctrl-C to stop."
            if line.startswith("Ctrl-C"):
                break
        else:
            raise RuntimeError(f"bringup simlab exited early with status {process.wait()}")
        yield station
    finally:
        process.terminate()
        process.wait(timeout=SIMLAB_START_TIMEOUT_S)


@contextmanager
def powered_dut(station_file: Path) -> Iterator[MonitorDut]:
    spec = load_station(station_file)
    station = Station.open(spec)
    assert spec.clock is not None
    power = PowerController(station.rails, spec.power_on_order,
                            clock=(station.instruments[spec.clock.source], spec.clock))
    try:
        power.power_on()
        dut = MonitorDut(station.console, name="SIM-0001")
        dut.wait_for_boot()
        yield dut
    finally:
        power.safe_off("benchmark finished")
        power.close()
        station.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--length", type=int, default=50, help="cases per random vector")
    parser.add_argument("--repeat", type=int, default=3, help="measurements; medians are printed")
    args = parser.parse_args()
    vectors = [generate_program(f"bench-{i}", args.length).vector for i in range(args.count)]
    runs = []
    context = multiprocessing.get_context("spawn")  # no fork of a process with live threads
    with tempfile.TemporaryDirectory() as folder, simlab_process(Path(folder)) as station_file, \
            ProcessPoolExecutor(1, mp_context=context) as pool, powered_dut(station_file) as dut:
        pool.submit(golden_batch, vectors[:1]).result()  # worker started and warm before timing
        for _ in range(args.repeat):
            runs.append(measure(dut, vectors, pool))
    report(runs, args.count)


def report(runs: list[dict[str, float]], count: int) -> None:
    def median(key: str) -> float:
        return statistics.median(totals[key] for totals in runs)

    parts = {key: median(key) for key in (TRANSFER, EXECUTION, GOLDEN, COMPARE)}
    total = statistics.median(sum(totals[key] for key in parts) for totals in runs)
    print(f"{count} random vectors through MonitorDut on the simulated lab (subprocess), "
          f"median of {len(runs)} run(s)")
    for key, seconds in parts.items():
        print(f"  {key:<10} {seconds:8.3f} s  {100 * seconds / total:5.1f} %")
    print(f"  {'total':<10} {total:8.3f} s")
    overhead = parts[GOLDEN] + parts[COMPARE]
    print(f"overhead (golden wait + compare): {100 * overhead / total:.1f} % of the total (goal < 10 %)")
    print(f"golden CPU time in the worker: {median('golden_cpu'):.3f} s (overlapped with the chip)")
    print(f"throughput: {count / total:.0f} vectors/s; failed vectors: {int(max(t['failed'] for t in runs))}")


if __name__ == "__main__":
    main()
