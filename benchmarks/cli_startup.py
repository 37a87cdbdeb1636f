"""How fast `bringup --help` answers: median wall time of N runs of the installed console script.

    .venv/bin/python benchmarks/cli_startup.py [--runs 21]

Also times `python -c pass` in the same run, so the figure can be read against the
interpreter's own start-up on this machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET_S = 0.15


def _median_wall(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    script = shutil.which("bringup", path=str(Path(sys.executable).parent)) or "bringup"
    help_s = _median_wall([script, "--help"], args.runs)
    bare_s = _median_wall([sys.executable, "-c", "pass"], args.runs)
    verdict = "OK" if help_s <= BUDGET_S else "TOO SLOW"
    print(f"bringup --help: median {help_s * 1000:.1f} ms over {args.runs} runs "
          f"(budget {BUDGET_S * 1000:.0f} ms: {verdict}); python -c pass: {bare_s * 1000:.1f} ms")


if __name__ == "__main__":
    main()
