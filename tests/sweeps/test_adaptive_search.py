"""The adaptive walk against the simulated physics' own Vmin (no bench: one class, fast).

The oracle is the simulated die's Vmin model (process corner by serial, die position, heat), so
"the same boundary as a grid" is checked over many serials, both temperatures and the full
benchmark grid in milliseconds; tests/sweeps/test_shmoo_on_simlab.py does it through the bench.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bringup.events import SweepOutcome
from bringup.runbook import SweepRange
from bringup.simlab.corner import ProcessCorner
from bringup.simlab.physics import die_position_vmin_v
from bringup.simlab.silicon import Hole
from bringup.steps.base import RunControl
from bringup.steps.shmoo import AdaptiveShmoo
from bringup.steps.sweep import PointKey, PointResult, SweepGrid, column_boundary, search_boundary

BENCHMARK_VOLTS = SweepRange(start=0.55, stop=0.95, step=0.005).values()
BENCHMARK_MHZ = SweepRange(start=600, stop=1600, step=100).values()
SERIALS = ["SIM-0001", "SIM-0002", "SIM-0003", "LOT7-W3-X4Y2", "SS-CORNER-9"]


@dataclass
class Ctx:
    control: RunControl = field(default_factory=RunControl)
    step_index: int = 0


@dataclass
class OracleRunner:
    """Stands in for PointRunner: a point passes when its volts reach the die's Vmin (outside holes)."""

    grid: SweepGrid
    serial: str
    holes: tuple[Hole, ...] = ()
    die: tuple[int, int] | None = None
    results: dict[PointKey, PointResult] = field(default_factory=dict)
    ctx: Ctx = field(default_factory=Ctx)
    chip_runs: int = 0

    def vmin(self, key: PointKey) -> float:
        corner = ProcessCorner.from_serial(self.serial)
        return corner.vmin(self.grid.mhz[key.mhz], self.grid.temps[key.temp]) + die_position_vmin_v(self.die)

    def truly_passes(self, key: PointKey) -> bool:
        margin = self.grid.volts[key.volts] - self.vmin(key)
        in_hole = any(hole.contains(self.grid.mhz[key.mhz], margin) for hole in self.holes)
        return margin >= 0 and not in_hole

    def measure(self, key: PointKey, executions: int = 1) -> PointResult:
        result = self.results.setdefault(key, PointResult(SweepOutcome.PASS))
        while result.executions < executions and result.passed:
            self.chip_runs += 1
            result.executions += 1
            if not self.truly_passes(key):
                result.outcome = SweepOutcome.FAIL
        result.confirmed = result.confirmed or (executions > 1 and result.passed)
        return result

    def infer(self, key: PointKey) -> None:
        self.results.setdefault(key, PointResult(SweepOutcome.INFERRED))

    def grid_boundary(self, temp: int, mhz: int) -> int | None:
        failing = [v for v in range(len(self.grid.volts)) if not self.truly_passes(PointKey(temp, mhz, v))]
        lowest = max(failing, default=-1) + 1
        return lowest if lowest < len(self.grid.volts) else None


def adaptive(serial: str, temps: list[float], **kwargs) -> OracleRunner:
    runner = OracleRunner(SweepGrid(BENCHMARK_VOLTS, BENCHMARK_MHZ, temps), serial, **kwargs)
    for temp in range(len(temps)):
        AdaptiveShmoo(runner, repeats=2, probes=3).temperature(temp)
    return runner


@pytest.mark.parametrize("serial", SERIALS)
def test_adaptive_finds_the_grid_boundary_with_a_fraction_of_the_runs(serial: str) -> None:
    runner = adaptive(serial, [25.0, 85.0])
    for temp in range(2):
        for mhz in range(len(BENCHMARK_MHZ)):
            assert column_boundary(runner, temp, mhz) == runner.grid_boundary(temp, mhz), (temp, mhz)
    assert runner.chip_runs <= 0.15 * runner.grid.total
    assert len(runner.results) == runner.grid.total  # every point is measured or inferred


def test_a_hole_above_the_boundary_is_found_and_filled_in() -> None:
    hole = Hole(mhz_low=900, mhz_high=1100, margin_low_v=0.011, margin_high_v=0.026)
    runner = adaptive("SIM-0002", [25.0], holes=(hole,))
    for mhz in range(len(BENCHMARK_MHZ)):
        assert column_boundary(runner, 0, mhz) == runner.grid_boundary(0, mhz), BENCHMARK_MHZ[mhz]
    in_hole = [key for key in runner.results if not runner.truly_passes(key)
               and BENCHMARK_VOLTS[key.volts] >= runner.vmin(key)]
    assert in_hole, "the hole should lie inside the grid"
    assert all(runner.results[key].outcome is SweepOutcome.FAIL for key in in_hole)


def test_search_boundary_from_any_guess() -> None:
    for truth in range(0, 11):
        for guess in range(0, 10):
            assert search_boundary(lambda v, t=truth: v >= t, 10, guess) == (truth - 1, truth)
