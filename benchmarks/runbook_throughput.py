"""End to end: `run_runbook` with 10,000 `measure` steps against the simulated lab, steps/s.

The whole call as a user makes it -- load and validate the runbook, open the station, power
on, 10,000 ``measure`` steps (one SCPI ``MEAS:VOLT?`` each to the simulated supply over TCP),
power off, every event recorded in SQLite through the bus, the recorder and its journal, the
run's final row committed. The simulated lab runs in a subprocess (`bringup simlab`), as a
bench is separate hardware. Goal: >= 2,000 steps/s for the whole call.

Baseline in the same run: the same number of raw pyvisa queries to the same supply channel (the
I/O floor), so the ratio says how much of the call is the toolkit rather than the instrument.
``--profile`` prints cProfile's top functions for the main thread (loading, station) and the
sequencer thread (the steps), where the time goes.

    .venv/bin/python benchmarks/runbook_throughput.py [--steps 10000] [--trials 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vectors_throughput import simlab_process

from bringup import sequencer as sequencer_module
from bringup.api import run_runbook
from bringup.station import load_station


def write_runbook(folder: Path, steps: int) -> Path:
    body = "".join("  - step: measure\n    rail: VDD_CORE\n    quantity: voltage\n" for _ in range(steps))
    path = folder / f"measure-{steps}.yaml"
    path.write_text(f"name: throughput\nsteps:\n  - step: power_on\n{body}  - step: power_off\n")
    return path


def whole_call(runbook: Path, station: Path, db_url: str, steps: int) -> tuple[float, dict[str, float]]:
    """steps/s for the whole run_runbook call, and where the time went."""
    marks: dict[str, float] = {}

    def watch(event: object) -> None:
        name = type(event).__name__
        if name not in marks:
            marks[name] = time.perf_counter()

    start, cpu_start = time.perf_counter(), time.process_time()
    report = run_runbook(runbook, station, "SIM-0001", db_url=db_url, watchers=[watch])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    assert report.status == "passed", (report.status, report.reason)
    split = {
        "before the first event (load, validate, open, recorder)": marks["RunStarted"] - start,
        "steps (RunStarted -> RunFinished)": marks["RunFinished"] - marks["RunStarted"],
        "after RunFinished (recorder close, station close)": start + elapsed - marks["RunFinished"],
        "CPU time of this process, all threads (steady under load)": cpu,
    }
    return (steps + 2) / elapsed, split


def raw_queries(station: Path, count: int) -> float:
    """The I/O floor: raw pyvisa MEAS:VOLT? queries to the same channel."""
    import pyvisa

    spec = load_station(station)
    rail = spec.rails["VDD_CORE"]
    address = spec.instruments[rail.supply].address
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(address, read_termination="\n", write_termination="\n")
    try:
        start = time.perf_counter()
        for _ in range(count):
            inst.query(f"MEAS:VOLT? (@{rail.channel})")
        return count / (time.perf_counter() - start)
    finally:
        inst.close()
        rm.close()


def profiled(runbook: Path, station: Path, db_url: str) -> None:
    """cProfile of the main thread and of the sequencer thread (where the steps run)."""
    step_profile = cProfile.Profile()
    original = sequencer_module.Sequencer._run

    def run_profiled(self: sequencer_module.Sequencer) -> object:
        return step_profile.runcall(original, self)

    sequencer_module.Sequencer._run = run_profiled  # type: ignore[method-assign]
    main_profile = cProfile.Profile()
    try:
        main_profile.runcall(run_runbook, runbook, station, "SIM-0001", db_url=db_url)
    finally:
        sequencer_module.Sequencer._run = original  # type: ignore[method-assign]
    for title, profile in (("main thread", main_profile), ("sequencer thread", step_profile)):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
        print(f"--- cProfile, {title} (cumulative) ---")
        print("\n".join(out.getvalue().splitlines()[:45]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, simlab_process(Path(tmp)) as station:
        runbook = write_runbook(Path(tmp), args.steps)
        rates, raws, splits = [], [], []
        for trial in range(args.trials):
            rate, split = whole_call(runbook, station, f"sqlite:///{tmp}/lab{trial}.db", args.steps)
            raw = raw_queries(station, args.steps)
            rates.append(rate)
            raws.append(raw)
            splits.append(split)
            parts = "; ".join(f"{what} {seconds:.2f} s" for what, seconds in split.items())
            print(f"trial {trial + 1}: {rate:,.0f} steps/s whole call, raw queries {raw:,.0f}/s, "
                  f"ratio {rate / raw:.2f} ({parts})")
        print(f"run_runbook, {args.steps:,} measure steps: median {statistics.median(rates):,.0f} steps/s "
              f"(goal >= 2,000), raw MEAS:VOLT? median {statistics.median(raws):,.0f}/s, median ratio "
              f"{statistics.median(r / q for r, q in zip(rates, raws, strict=True)):.2f} "
              f"over {args.trials} trials")
        for what in splits[0]:
            print(f"  {what}: median {statistics.median(s[what] for s in splits):.2f} s")
        if args.profile:
            profiled(runbook, station, f"sqlite:///{tmp}/profiled.db")


if __name__ == "__main__":
    main()
