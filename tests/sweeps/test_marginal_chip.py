"""A chip with a marginal band and a hole: adaptive still reports the hole, confirms its boundary
points with repeats, and stop/abort work between points."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_until
from simlab_state import outputs_on
from sweep_bench import SweepBench, grids, open_bench, shmoo_body

from bringup.events import SweepPoint
from bringup.simlab.monitor_firmware import ChipHung
from bringup.simlab.silicon import Hole, MarginalSilicon
from bringup.steps.base import RunControl

HOLE_MHZ = (700, 900)
BODY = shmoo_body("adaptive", "{start: 0.66, stop: 0.84, step: 0.01}", "{start: 500, stop: 1000, step: 100}")


@pytest.fixture
def marginal(tmp_path: Path) -> Iterator[SweepBench]:
    bench = open_bench(tmp_path, "SIM-0002")
    bench.lab.chip.disturbance = MarginalSilicon(
        "SIM-0002", marginal_band_v=0.004, holes=(Hole(*HOLE_MHZ, margin_low_v=0.022, margin_high_v=0.036),))
    try:
        yield bench
        assert not bench.lab.chip.damaged
    finally:
        bench.lab.stop()


def test_adaptive_reports_the_hole_and_confirms_its_boundary_points(marginal: SweepBench) -> None:
    report = marginal.run(BODY.replace("hang_timeout_s", "repeats: 3\n      hang_timeout_s"))
    assert report.status == "passed", report.reason
    [sweep] = marginal.maps(report.run_id)
    [grid] = grids(sweep).values()
    latest = {(p.vdd_core_v, p.core_mhz): p for p in sweep.points}
    for column, mhz in enumerate(grid.mhz):
        rows = [grid.cells[row][column] for row in range(len(grid.volts))]
        lowest_pass = rows.index("pass")
        failing_above = [grid.volts[row] for row in range(lowest_pass, len(rows)) if rows[row] == "fail"]
        if HOLE_MHZ[0] <= mhz <= HOLE_MHZ[1]:
            assert failing_above, f"the hole at {mhz} MHz was not reported: {rows}"
            assert grid.boundary[column] > max(failing_above)
        boundary_point = latest[(grid.boundary[column], mhz)]
        assert boundary_point.confirmed and boundary_point.vectors_run >= 3 * 2, (mhz, boundary_point)
    assert any(cell.startswith("inferred") for row in grid.cells for cell in row)


@pytest.mark.parametrize(("action", "reason"), [("stop", "enough for tonight (in step 2"),
                                                ("abort", "enough for tonight")])
def test_stop_or_abort_inside_a_sweep_ends_it_between_points_with_every_rail_off(
        marginal: SweepBench, action: str, reason: str) -> None:
    control = RunControl()
    seen: list[SweepPoint] = []

    def watch(event) -> None:
        if isinstance(event, SweepPoint):
            seen.append(event)
            if len(seen) == 5:
                getattr(control, action)("enough for tonight")

    report = marginal.run(BODY, control=control, watchers=[watch])
    assert report.status == "aborted"
    assert reason in report.reason
    wait_until(lambda: outputs_on(marginal.lab) == [], timeout=10, what="every output off")
    measured = [p for p in seen if p.outcome != "inferred"]
    assert len(measured) < 30  # it ended between points, long before the sweep (~60 measured) would


def test_a_chip_that_cannot_be_recovered_ends_the_sweep_with_the_reason(marginal: SweepBench) -> None:
    lab = marginal.lab

    def wedge_for_good(memory, base, outcome, point):
        # The core wedges, and its boot ROM never starts again: the power cycle brings the
        # rails back, but never the chip's banner.
        lab.chip._boot = lambda: None
        raise ChipHung("wedged for good")

    lab.chip.disturbance = wedge_for_good
    report = marginal.run(BODY)
    assert report.status == "failed"
    [step] = [s for s in _steps(marginal, report.run_id) if s.kind == "shmoo"]
    assert step.status == "failed"
    assert step.message.startswith("shmoo ended: ")
    assert "the chip did not recover after hanging at 0.84 V, 500 MHz" in step.message, step.message
    wait_until(lambda: outputs_on(lab) == [], timeout=10, what="every output off")


def _steps(bench: SweepBench, run_id: str):
    from bringup.db.engine import make_engine
    from bringup.db.queries import run_summary

    engine = make_engine(bench.db_url)
    try:
        return run_summary(engine, run_id).steps
    finally:
        engine.dispose()
