"""shmoo: pass/fail over rail voltage × core clock, at one or more forcer temperatures.

`grid` measures every point. `adaptive` walks each frequency column assuming the boundary is
monotone, but does not trust it:

1. gallop from a guess (the neighbouring column's boundary, moved by the last shift) and bisect
   to the lowest passing voltage above the highest failing one;
2. confirm that point with `repeats` executions (every one must pass), moving up if it fails;
3. probe `probes` points above it (1, 2, 4 ... steps) and the voltages where the previous column
   had a hole; a failing probe is a hole: every point between the boundary and it, and up
   through it to the next pass, is measured, and the boundary moves above it;
4. mark every point it did not run as `inferred`.

Each point is recorded as a SweepPoint; a point's suite executions as ordinary VectorResults.
"""

from __future__ import annotations

from collections.abc import Callable

from bringup.events import SweepOutcome
from bringup.steps.base import Step, StepContext, StepOutcome
from bringup.steps.sweep import (
    PointKey,
    PointRunner,
    SweepFailed,
    between_points,
    column_boundary,
    search_boundary,
    settle_temperature,
    sweep_setup,
)


class ShmooStep(Step):
    kind = "shmoo"

    def run(self, ctx: StepContext) -> StepOutcome:
        spec = self.spec
        try:
            runner = sweep_setup(ctx, spec, spec.mhz.values())
        except SweepFailed as exc:  # outside the station's limits: refused before any move
            return StepOutcome(False, f"shmoo not started: {exc}")
        try:
            for temp, celsius in enumerate(runner.grid.temps):
                if spec.temperatures_c:
                    settle_temperature(ctx, spec, celsius)
                if spec.method == "grid":
                    self._grid(runner, temp)
                else:
                    AdaptiveShmoo(runner, spec.repeats, spec.probes).temperature(temp)
        except SweepFailed as exc:
            return StepOutcome(False, f"shmoo ended: {exc} ({_summary(runner)})")
        return StepOutcome(True, f"{spec.method}: {_summary(runner)}; {_boundaries(runner)}")

    @staticmethod
    def _grid(runner: PointRunner, temp: int) -> None:
        # From the top down, so each column's hangs (far below its boundary) come last.
        for mhz in range(len(runner.grid.mhz)):
            for volts in reversed(range(len(runner.grid.volts))):
                between_points(runner.ctx, f"{runner.grid.mhz[mhz]:g} MHz")
                runner.measure(PointKey(temp, mhz, volts))


class AdaptiveShmoo:
    """The adaptive walk over one temperature's columns (see the module's description)."""

    def __init__(self, runner: PointRunner, repeats: int, probes: int) -> None:
        self.runner = runner
        self.repeats = repeats
        self.offsets = [2**k for k in range(probes)]
        self.count = len(runner.grid.volts)

    def temperature(self, temp: int) -> None:
        guess, previous, hole_hints = self.count - 1, None, set[int]()
        for mhz in range(len(self.runner.grid.mhz)):
            boundary, hole_hints = self.column(temp, mhz, guess, hole_hints)
            # Vmin rises with frequency: expect the next column to move as this one did.
            shift = max(0, boundary - previous) if previous is not None else 0
            guess, previous = boundary + shift, boundary

    def column(self, temp: int, mhz: int, guess: int, hole_hints: set[int]) -> tuple[int, set[int]]:
        """Measure one frequency; returns its monotone boundary and where its holes were."""
        passes = self._passes(temp, mhz)
        lo, hi = search_boundary(passes, self.count, guess)
        lo, hi = self._confirm(temp, mhz, lo, hi)
        monotone = self._under(temp, mhz, lo, hi)
        probes = sorted({hi + offset for offset in self.offsets} | hole_hints)
        for probe in probes:
            if probe <= hi or probe >= self.count or passes(probe):
                continue
            for volts in range(hi + 1, probe):  # a hole: fill in from the boundary up to it...
                passes(volts)
            top = probe + 1
            while top < self.count and not passes(top):  # ...and up through it
                top += 1
            lo, hi = self._confirm(temp, mhz, top - 1, top)
        for volts in range(self.count):
            self.runner.infer(PointKey(temp, mhz, volts))
        holes = {key.volts + d for key, result in self.runner.results.items()
                 if key.temp == temp and key.mhz == mhz and key.volts > monotone
                 and result.outcome in (SweepOutcome.FAIL, SweepOutcome.HANG) for d in (-1, 0, 1)}
        return monotone, holes

    def _under(self, temp: int, mhz: int, lo: int, hi: int) -> int:
        """The search may have landed on a hole: a pass just under its failure says so. Then the
        real edge is searched for below, and the island between is measured point by point."""
        passes = self._passes(temp, mhz)
        for probe in (lo - 1, lo - 2):
            if probe < 0 or not passes(probe):
                continue
            _, lower = search_boundary(passes, probe + 1, probe)
            _, lower = self._confirm(temp, mhz, lower - 1, lower)
            for volts in range(probe + 1, lo):
                passes(volts)
            return min(lower, hi)
        return hi

    def _confirm(self, temp: int, mhz: int, lo: int, hi: int) -> tuple[int, int]:
        """Repeat the lowest pass until it holds; a failure moves the boundary up."""
        passes = self._passes(temp, mhz)
        while hi < self.count:
            between_points(self.runner.ctx, f"{self.runner.grid.mhz[mhz]:g} MHz")
            if self.runner.measure(PointKey(temp, mhz, hi), self.repeats).passed:
                break
            lo, hi = hi, hi + 1
            while hi < self.count and not passes(hi):
                lo, hi = hi, hi + 1
        return lo, hi

    def _passes(self, temp: int, mhz: int) -> Callable[[int], bool]:
        runner = self.runner

        def passes(volts: int) -> bool:
            between_points(runner.ctx, f"{runner.grid.mhz[mhz]:g} MHz")
            return runner.measure(PointKey(temp, mhz, volts)).passed

        return passes


def _summary(runner: PointRunner) -> str:
    measured = sum(r.outcome is not SweepOutcome.INFERRED for r in runner.results.values())
    inferred = len(runner.results) - measured
    return (f"{measured} of {runner.grid.total} points measured, {inferred} inferred, "
            f"{runner.chip_runs} chip runs, {runner.hangs} hang(s) recovered")


def _boundaries(runner: PointRunner) -> str:
    grid = runner.grid
    parts = []
    for temp, celsius in enumerate(grid.temps):
        found = [column_boundary(runner, temp, mhz) for mhz in range(len(grid.mhz))]
        edges = [f"{grid.volts[b]:g} V at {grid.mhz[m]:g} MHz" for m, b in enumerate(found) if b is not None]
        low, high = (edges[0], edges[-1]) if edges else ("none", "none")
        where = "" if celsius is None else f" at {celsius:g} °C"
        parts.append(f"boundary{where} from {low} to {high}")
    return "; ".join(parts)
