"""How long a 10,000-step runbook takes to validate before its first step (issue 11: < 0.5 s).

    .venv/bin/python benchmarks/runbook_load.py [--steps 10000] [--runs 5]

Times `load_runbook` against the shipped simlab station (what `bringup run` does before it
opens an instrument), and in the same run two baselines on the same text: the old path
(pure-Python `yaml.compose` for the line numbers plus `yaml.safe_load` for the data, then the
same model validation) and a plain `yaml.safe_load`. Prints medians and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bringup.runbook import Runbook, load_runbook
from bringup.station import load_station

ROOT = Path(__file__).resolve().parents[1]
STATION = ROOT / "runbooks" / "stations" / "simlab.yaml"
BUDGET_S = 0.5


def runbook_text(steps: int) -> str:
    """A runbook of `steps` steps that mixes the kinds a long characterisation run has."""
    body = ["name: long\ndescription: benchmark runbook\nsteps:\n  - step: power_on\n"]
    kinds = [
        "  - step: measure\n    name: core {i}\n    rail: VDD_CORE\n    quantity: voltage\n"
        "    low: 0.75\n    high: 0.85\n    on_fail: continue\n",
        "  - step: set_rail\n    rail: VDD_CORE\n    volts: 0.8{d}\n",
        "  - step: wait\n    seconds: 0.001\n",
        "  - {{step: measure, rail: VDD_IO, quantity: current, high: 0.2}}\n",
    ]
    for i in range(steps - 2):
        body.append(kinds[i % len(kinds)].format(i=i, d=i % 10))
    body.append("  - step: power_off\n")
    return "".join(body)


def old_path(path: Path) -> None:
    """What parse_runbook did before: compose for lines, safe_load for data (both pure Python)."""
    text = path.read_text()
    yaml.compose(text, Loader=yaml.SafeLoader)
    Runbook.model_validate(yaml.safe_load(text))


def _median(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `runs` calls (CPU time is what a shared machine's load
    does not inflate; wall time is what the user waits)."""
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    station = load_station(STATION)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.yaml"
        path.write_text(runbook_text(args.steps))
        assert len(load_runbook(path, station).steps) == args.steps
        new_s, new_cpu = _median(lambda: load_runbook(path, station), args.runs)
        old_s, old_cpu = _median(lambda: old_path(path), max(1, args.runs // 2))
        plain_s, plain_cpu = _median(lambda: yaml.safe_load(path.read_text()), max(1, args.runs // 2))
    verdict = "OK" if new_s <= BUDGET_S else "TOO SLOW"
    print(f"load_runbook, {args.steps} steps: median {new_s:.3f} s wall, {new_cpu:.3f} s CPU "
          f"(budget {BUDGET_S} s: {verdict}); old path {old_s:.3f} s wall ({old_s / new_s:.1f}x), "
          f"{old_cpu:.3f} s CPU ({old_cpu / new_cpu:.1f}x); plain yaml.safe_load {plain_s:.3f} s wall "
          f"({plain_s / new_s:.1f}x), {plain_cpu:.3f} s CPU ({plain_cpu / new_cpu:.1f}x)")

if __name__ == "__main__":
    main()
