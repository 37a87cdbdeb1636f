"""Run vectors on a DUT and compare each signature with its golden one.

The outcome of a run is read from the DUT's memory, not from what its `run` returns: the tohost
word says whether the program finished and with which exit code, the signature region what it
computed. That works the same for the reference core, the UART monitor and a JTAG probe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bringup.dut.base import Dut
from bringup.vectors.compare import Comparison, compare_signatures
from bringup.vectors.golden import GoldenCache, compute_golden
from bringup.vectors.model import Vector


@dataclass(frozen=True)
class VectorOutcome:
    vector: Vector
    comparison: Comparison
    halted: bool           # the program wrote tohost within its budget
    exit_code: int | None  # its self-check verdict: 0 passed, n = check n failed
    run_result: Any = field(default=None, compare=False)  # whatever the DUT's run returned

    @property
    def passed(self) -> bool:
        return self.halted and self.exit_code == 0 and self.comparison.passed

    def describe(self) -> str:
        if not self.halted:
            verdict = f"did not reach tohost within {self.vector.max_steps} steps"
        elif self.exit_code:
            verdict = f"failed its own check {self.exit_code}"
        else:
            verdict = "exited 0"
        result = "PASS" if self.passed else "FAIL"
        return f"{result} {self.vector.name}: {verdict}; {self.comparison.summary()}"


@dataclass(frozen=True)
class RunSummary:
    outcomes: list[VectorOutcome]

    @property
    def passed(self) -> int:
        return sum(outcome.passed for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed

    @property
    def all_passed(self) -> bool:
        return self.failed == 0


Progress = Callable[[int, int, VectorOutcome], None]  # (done, total, the outcome just finished)


def run_vectors(
    dut: Dut, vectors: Iterable[Vector], cache: GoldenCache, progress: Progress | None = None,
    *, clock_mhz: float | None = None,
) -> RunSummary:
    """Reset, load, run and check each vector in turn; goldens come from `cache` or the reference."""
    goldens = compute_golden(list(vectors), cache)
    outcomes = []
    for done, golden in enumerate(goldens, start=1):
        outcome = run_one(dut, golden.vector, golden.signature, clock_mhz=clock_mhz)
        outcomes.append(outcome)
        if progress is not None:
            progress(done, len(goldens), outcome)
    return RunSummary(outcomes)


def run_one(dut: Dut, vector: Vector, golden: bytes | Callable[[], bytes], *,
            clock_mhz: float | None = None) -> VectorOutcome:
    """One vector from a fresh reset; a reset puts the core clock back to its default, so the
    clock the vector must run at (`clock_mhz`) is set again after it. `golden` may be a function
    that gives it: it is called once the chip has run, so the golden can be computed meanwhile."""
    dut.reset()
    if clock_mhz is not None:
        dut.set_clock(clock_mhz)
    dut.load(vector.load_address, vector.image)
    result = dut.run(vector.entry, vector.max_steps, tohost=vector.tohost)
    tohost = int.from_bytes(dut.read_memory(vector.tohost, 4), "little")
    halted = bool(tohost & 1)
    actual = dut.read_memory(vector.signature_start, vector.signature_end - vector.signature_start)
    if callable(golden):
        golden = golden()
    return VectorOutcome(
        vector=vector,
        comparison=compare_signatures(vector.signature_start, golden, actual),
        halted=halted,
        exit_code=tohost >> 1 if halted else None,
        run_result=result,
    )
