"""A shmoo through the real bench (drivers, pty, physics): adaptive against grid, hangs, the PNG."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sweep_bench import SweepBench, grids, open_bench, shmoo_body

from bringup.cli import main
from bringup.db.engine import make_engine
from bringup.db.models import EventLogRow, RailSampleRow, SweepPointRow
from bringup.sequencer import RunReport

# Coarse on purpose: 7 volts x 4 clocks x 2 temperatures; the bottom row hangs at 1 GHz.
VOLTS = "{start: 0.66, stop: 0.84, step: 0.03}"
MHZ = "{start: 400, stop: 1000, step: 200}"
TEMPS = "[25, 85]"


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SweepBench, RunReport, RunReport]]:
    bench = open_bench(tmp_path_factory.mktemp("shmoo"), "SIM-0001")
    try:
        grid = bench.run(shmoo_body("grid", VOLTS, MHZ, TEMPS), operator="grid")
        adaptive = bench.run(shmoo_body("adaptive", VOLTS, MHZ, TEMPS), operator="adaptive")
        yield bench, grid, adaptive
        assert not bench.lab.chip.damaged, bench.lab.chip.damage
    finally:
        bench.lab.stop()


def test_adaptive_reports_the_grid_boundary_at_both_temperatures(swept) -> None:
    bench, grid_run, adaptive_run = swept
    assert (grid_run.status, adaptive_run.status) == ("passed", "passed"), (grid_run, adaptive_run)
    [grid_map] = bench.maps(grid_run.run_id)
    [adaptive_map] = bench.maps(adaptive_run.run_id)
    by_grid, by_adaptive = grids(grid_map), grids(adaptive_map)
    assert sorted(by_grid) == sorted(by_adaptive) == [25.0, 85.0]
    for temp in by_grid:
        assert by_adaptive[temp].boundary == by_grid[temp].boundary, temp
        assert None not in by_grid[temp].boundary
        assert by_adaptive[temp].count("untested") == 0
        assert by_adaptive[temp].count("inferred-pass") + by_adaptive[temp].count("inferred-fail") > 0
    # Vmin rises with frequency and with temperature.
    cold, hot = by_grid[25.0].boundary, by_grid[85.0].boundary
    assert cold == sorted(cold) and hot == sorted(hot)
    assert all(h >= c for c, h in zip(cold, hot, strict=True)) and hot != cold


def test_a_hang_below_vmin_is_recorded_recovered_and_the_sweep_finishes(swept) -> None:
    bench, grid_run, _ = swept
    [grid_map] = bench.maps(grid_run.run_id)
    hangs = [p for p in grid_map.points if p.outcome == "hang"]
    assert hangs and all(p.vdd_core_v <= 0.69 and p.core_mhz == 1000 for p in hangs)  # far below Vmin
    engine = make_engine(bench.db_url)
    with engine.connect() as conn:
        logs = conn.execute(select(EventLogRow.text).where(EventLogRow.run_id == grid_run.run_id)).scalars().all()
        highest = conn.execute(select(RailSampleRow.volts).where(RailSampleRow.rail == "VDD_CORE")
                               .order_by(RailSampleRow.volts.desc()).limit(1)).scalar_one()
    engine.dispose()
    recovered = [line for line in logs if "recovered the chip after the hang" in line]
    assert len(recovered) == len(hangs)
    assert all("power cycle" in line for line in recovered)  # a wedged core ignores the monitor reset
    assert any("powered down (sweep: power cycle after a hang at 0.66 V, 1000 MHz)" in line for line in logs)
    assert highest <= 0.95  # VDD_CORE's absolute maximum in the station file
    assert not bench.lab.chip.damaged
    # After the hangs the sweep went on: every point of the grid was measured.
    assert len({(p.vdd_core_v, p.core_mhz, p.temperature_c) for p in grid_map.points}) == 7 * 4 * 2


def test_the_shmoo_png_shows_pass_and_fail_in_their_colours(swept, tmp_path: Path) -> None:
    from matplotlib.image import imread

    from bringup.report.plots import CELL_COLOURS

    bench, _, adaptive_run = swept
    out = tmp_path / "map.png"
    result = CliRunner().invoke(main, ["plot", "shmoo", adaptive_run.run_id[:8], "--db", bench.db_url,
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "SIM-0001 at 25 °C" in result.output and "x" in result.output and "+" in result.output
    pages = sorted(tmp_path.glob("map-*.png"))
    assert [p.name for p in pages] == ["map-1.png", "map-2.png"]  # one per temperature
    pixels = imread(pages[0])
    assert pixels.shape[:2] == (600, 800)
    colours = {tuple(round(c * 255) for c in pixel[:3]) for row in pixels[::4] for pixel in row[::4]}
    for cell in ("pass", "fail"):
        wanted = tuple(int(CELL_COLOURS[cell][i:i + 2], 16) for i in (1, 3, 5))
        assert wanted in colours, cell


def test_the_run_report_carries_the_shmoo_maps_as_images(swept, tmp_path: Path) -> None:
    import base64
    import re

    bench, _, adaptive_run = swept
    out = tmp_path / "run.html"
    result = CliRunner().invoke(main, ["report", adaptive_run.run_id[:8], "--db", bench.db_url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    sweeps = html[html.index('id="sweeps"'):]
    titles = re.findall(r"SIM-0001 at (\d+) °C", sweeps)
    assert {"25", "85"} <= set(titles)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', sweeps)
    assert images and all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
    # one map per step and temperature, not also a vector shmoo folding 25 and 85 °C together
    assert 'id="shmoo"' not in html


def test_attaching_to_a_recorded_shmoo_draws_its_points(swept) -> None:
    from bringup.events import SweepPoint
    from bringup.tui.follow import RunFollower

    bench, _, adaptive_run = swept
    seen: list[object] = []
    engine = make_engine(bench.db_url)
    try:
        follower = RunFollower(engine, adaptive_run.run_id, seen.append)
        while follower.poll():  # a page at a time, as the attached screen reads it
            pass
        with engine.connect() as conn:
            recorded = conn.execute(select(SweepPointRow.outcome).where(
                SweepPointRow.run_id == adaptive_run.run_id).order_by(SweepPointRow.id)).scalars().all()
    finally:
        engine.dispose()
    points = [event for event in seen if isinstance(event, SweepPoint)]
    assert recorded and [str(point.outcome) for point in points] == recorded
