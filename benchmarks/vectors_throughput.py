"""Validation-vector throughput of the run_vectors step as a run executes it.

    .venv/bin/python benchmarks/vectors_throughput.py [--count 1000] [--length 50] [--repeat 3]

Each measurement is one `bringup.api.run_runbook` call (sequencer, event bus, recorder into a
fresh SQLite file) of the runbook `power_on; run_vectors (suite: random, count N); power_off`
against the simulated lab, which runs in a subprocess (`bringup simlab`) as the chip is separate
silicon on a real bench. Goldens start cold every time (a fresh golden cache folder), so the
step computes all of them in its worker processes while the chip runs.

The benchmark times, in this process (wrappers around the step and the MonitorDut methods):

- step:      the wall time of RunVectorsStep.run, from its start to its return;
- transfer:  the UART exchanges that move a vector in and its results out (RESET, CLOCK, LOAD,
             DUMP: MonitorDut.reset/set_clock/clock_mhz/load/read_memory);
- execution: the RUN exchange (MonitorDut.run: the chip computing, plus one round trip);
- overhead = step - transfer - execution: everything else the host does inside the step:
             making the suite where the step's thread waits for it (a random suite's programs
             are made by the golden feeder thread ahead of the chip; "made in step" is what
             the step's own thread made), cache lookups, starting the golden workers, waiting for a golden the
             worker has not finished, comparing, building and publishing the VectorResult
             events (bus and recorder back-pressure included), bookkeeping.

Goal: overhead < 10 % of the step. Its parts are printed too (for diagnosis). Also printed:
"suite", the time `VectorLibrary.vectors` took, mostly in `check_suites` before power-on (where
a random suite used to be generated whole: it delayed the run, outside the step).
Baseline measured in the same run: the CPU time the same
goldens take computed in line in this process (what `run_vectors` cost before it overlapped
them), as a share of the step.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The toolkit is imported inside the functions, as `bringup run` imports it: the golden workers
# start fresh ("spawn") and import the main module again; a heavy one would slow their start.

TRANSFER, EXECUTION, STEP = "transfer", "execution", "step"
GOLDEN_START, GOLDEN_WAIT, PUBLISH = "golden start", "golden wait", "publish"
FIRST_GOLDEN, SUITE, MADE_IN_STEP = "first golden", "suite", "made in step"
DUT_BUCKETS = {"reset": TRANSFER, "set_clock": TRANSFER, "clock_mhz": TRANSFER, "load": TRANSFER,
               "read_memory": TRANSFER, "run": EXECUTION}
SIMLAB_START_TIMEOUT_S = 30.0
RUNBOOK = """name: vectors-throughput
steps:
  - step: power_on
  - step: run_vectors
    suite: random
    seed: {seed}
    count: {count}
    length: {length}
  - step: power_off
"""

totals: dict[str, float] = defaultdict(float)


def timed(bucket: str, method: Callable[..., Any], first: str | None = None) -> Callable[..., Any]:
    """`method`, adding its wall time to totals[bucket] (and its first call's to totals[first])."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - start
            totals[bucket] += seconds
            if first is not None and first not in totals:
                totals[first] = seconds

    return wrapper


def instrument() -> None:
    """Time the step and the DUT's exchanges where a run calls them, and (parts of the
    overhead, for diagnosis) the golden pipeline's start and waits and the event publishing."""
    from bringup.dut import monitor
    from bringup.steps import vectors as vectors_step
    from bringup.steps.base import StepContext
    from bringup.vectors import golden_pool, library

    for name, bucket in DUT_BUCKETS.items():
        setattr(monitor.MonitorDut, name, timed(bucket, getattr(monitor.MonitorDut, name)))
    step = vectors_step.RunVectorsStep
    step.run = timed(STEP, step.run)  # type: ignore[method-assign]
    pipeline = golden_pool.GoldenPipeline
    pipeline.__init__ = timed(GOLDEN_START, pipeline.__init__)  # type: ignore[method-assign]
    pipeline.get = timed(GOLDEN_WAIT, pipeline.get, FIRST_GOLDEN)  # type: ignore[method-assign]
    library.VectorLibrary.vectors = timed(SUITE, library.VectorLibrary.vectors)  # type: ignore[method-assign]
    random_suite = getattr(library, "RandomSuite", None)  # lazy suites (2026-11-30 on)
    if random_suite is not None:
        make = random_suite._make_up_to
        timed_make = timed(MADE_IN_STEP, make)

        def make_up_to(self: Any, index: int) -> None:  # only what the step's thread waits for
            if threading.current_thread().name == "sequencer":
                return timed_make(self, index)
            return make(self, index)

        random_suite._make_up_to = make_up_to
    StepContext.emit = timed(PUBLISH, StepContext.emit)  # type: ignore[method-assign]


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


def one_run(folder: Path, station: Path, index: int, count: int, length: int) -> dict[str, float]:
    from bringup import api

    runbook = folder / f"run-{index}" / "vectors.yaml"
    runbook.parent.mkdir()
    runbook.write_text(RUNBOOK.format(seed=index + 1, count=count, length=length))
    os.environ["BRINGUP_GOLDEN_CACHE"] = str(runbook.parent / "golden")  # cold goldens
    totals.clear()
    started = time.perf_counter()
    report = api.run_runbook(runbook, station, chip="SIM-0001",
                             db_url=f"sqlite:///{runbook.parent / 'lab.db'}")
    whole = time.perf_counter() - started
    if report.status != "passed":
        raise SystemExit(f"the run did not pass: {report.status}: {report.reason}")
    return {**totals, "whole": whole}


def inline_golden_cpu_s(seed: int, count: int, length: int) -> float:
    """The baseline: the same suite's goldens computed in line, CPU seconds in this process."""
    from bringup.vectors import generate_program, reference_signature

    vectors = [generate_program(f"{seed}-{i}", length, name=f"random-{seed}-{i}").vector
               for i in range(count)]
    start = time.process_time()
    for vector in vectors:
        reference_signature(vector)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--length", type=int, default=50, help="cases per random vector")
    parser.add_argument("--repeat", type=int, default=3, help="measurements; medians are printed")
    parser.add_argument("--golden-worker", choices=("process", "thread"), default="process",
                        help="thread: to measure what a thread instead of the step's worker "
                             "processes would give (the reference core holds the GIL)")
    args = parser.parse_args()
    if args.golden_worker == "thread":
        from bringup.vectors import golden_pool

        golden_pool.make_executor = ThreadPoolExecutor  # type: ignore[assignment]
    instrument()
    runs = []
    with tempfile.TemporaryDirectory() as name, simlab_process(Path(name)) as station:
        for index in range(args.repeat):
            run = one_run(Path(name), station, index, args.count, args.length)
            run["inline"] = inline_golden_cpu_s(index + 1, args.count, args.length)
            runs.append(run)
            print(f"run {index + 1}: overhead {100 * overhead(run) / run[STEP]:.1f} % "
                  f"of a {run[STEP]:.2f} s step", flush=True)
    report(runs, args.count, args.golden_worker)


def overhead(run: dict[str, float]) -> float:
    return run[STEP] - run[TRANSFER] - run[EXECUTION]


def report(runs: list[dict[str, float]], count: int, worker: str) -> None:
    def median(value: Callable[[dict[str, float]], float]) -> float:
        return statistics.median(value(run) for run in runs)

    step = median(lambda run: run[STEP])
    print(f"{count} random vectors in one run_vectors step of api.run_runbook on the simulated lab "
          f"(subprocess), cold goldens ({worker} worker), median of {len(runs)} run(s)")
    for key in (TRANSFER, EXECUTION):
        seconds = median(lambda run, key=key: run[key])
        print(f"  {key:<10} {seconds:8.3f} s  {100 * seconds / step:5.1f} %")
    print(f"  {'overhead':<10} {median(overhead):8.3f} s  {100 * median(overhead) / step:5.1f} %")
    for key in (MADE_IN_STEP, GOLDEN_START, GOLDEN_WAIT, FIRST_GOLDEN, PUBLISH):
        seconds = median(lambda run, key=key: run.get(key, 0.0))
        print(f"    of which {key:<13} {seconds:8.3f} s  {100 * seconds / step:5.1f} %")
    print(f"  {'step':<10} {step:8.3f} s   ({count / step:.0f} vectors/s; whole run_runbook call "
          f"{median(lambda run: run['whole']):.2f} s)")
    share = median(lambda run: overhead(run) / run[STEP])
    print(f"overhead: {100 * share:.1f} % of the step (goal < 10 %)")
    share = median(lambda run: (overhead(run) - run.get(MADE_IN_STEP, 0.0)) / run[STEP])
    print(f"overhead without the suite made in the step's thread: {100 * share:.1f} %")
    print(f"suite (VectorLibrary.vectors, check_suites before power-on and the step): "
          f"{median(lambda run: run.get(SUITE, 0.0)):.3f} s, outside the step's overhead")
    inline = median(lambda run: run["inline"] / run[STEP])
    print(f"baseline: the same goldens computed in line would add {100 * inline:.0f} % of the step "
          f"({median(lambda run: run['inline']):.2f} s CPU)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; cpus {os.cpu_count()}")


if __name__ == "__main__":
    main()
