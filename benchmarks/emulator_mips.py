"""Emulator throughput: a loop of load, add, store, two adds and a branch, at least 30 million
instructions, on the pure-Python core and on Unicorn, median of 5 runs each.

Usage: python benchmarks/emulator_mips.py [--iterations N] [--runs N]
Prints one line per backend and the ratio, with the machine's load average (other work
shares the cores, so compare figures only with their load).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bringup.emulator import StopReason, asm, make_backend

BASE = 0x8000_0000
DATA = BASE + 0x8000
TOHOST = BASE + 0xF000
LOOP_LENGTH = 6


def program(iterations: int) -> list[int]:
    return [
        *asm.li(1, DATA), *asm.li(2, iterations), asm.addi(3, 0, 0),
        asm.lw(4, 1, 0), asm.add(4, 4, 2), asm.sw(4, 1, 0),  # loop: load, add, store,
        asm.addi(3, 3, 1), asm.addi(2, 2, -1), asm.bne(2, 0, -20),  # two adds, branch
        *asm.li(5, TOHOST), asm.addi(6, 0, 1), asm.sw(6, 5, 0), asm.jal(0, 0),
    ]


def one_run(kind: str, words: list[int], budget: int) -> tuple[float, int]:
    backend = make_backend(kind, [(BASE, 0x1_0000)], tohost=TOHOST)
    backend.load(BASE, asm.program(words))
    backend.pc = BASE
    start = time.perf_counter()
    result = backend.run(budget)
    elapsed = time.perf_counter() - start
    if result.status is not StopReason.HALTED:
        raise SystemExit(f"{kind}: the benchmark loop did not halt: {result}")
    return elapsed, result.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5_000_001)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    words = program(args.iterations)
    budget = LOOP_LENGTH * args.iterations + 100
    mips: dict[str, float] = {}
    for kind in ("python", "unicorn"):
        samples = [one_run(kind, words, budget) for _ in range(args.runs)]
        steps = samples[0][1]
        mips[kind] = steps / statistics.median(t for t, _ in samples) / 1e6
        print(f"{kind:8s} {mips[kind]:7.2f} MIPS  ({steps:,} instructions, median of "
              f"{args.runs})")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"ratio python/unicorn {mips['python'] / mips['unicorn']:.2f}   load average {load}"
          f"   cpus {os.cpu_count()}")


if __name__ == "__main__":
    main()
