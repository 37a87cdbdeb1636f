"""`bringup query vmin --lot` over a lot swept by vmin.yaml: each chip's Vmin per frequency and
temperature, and "no Vmin search recorded" for a chip that never had one."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sweep_bench import open_bench

from bringup.cli import main
from bringup.db.engine import make_engine
from bringup.db.queries import vmin_searches
from bringup.sequencer import ChipInfo

VMIN = """
- step: power_on
- step: vmin
  volts: {start: 0.62, stop: 0.84, step: 0.02}
  mhz: [400, 800]
  temperatures_c: [25, 85]
  repeats: 2
  guard_band_v: 0.02
  hang_timeout_s: 0.5
  soak_s: 5
- step: power_off
"""
CHIPS = [("LOTQ-01", (0, 0)), ("LOTQ-02", (9, 0))]  # the second near the wafer's edge


def test_query_vmin_lists_each_chip_per_corner_and_says_where_none_was_searched(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'lab.db'}"
    truth = {}
    for serial, die in CHIPS:
        bench = open_bench(tmp_path / serial, serial, db_url, die=die)
        try:
            report = bench.run(VMIN, chip=ChipInfo(serial, lot="LQ", wafer=3, die_x=die[0], die_y=die[1]))
            assert report.status == "passed", report.reason
            truth[serial] = bench.lab.chip.vmin(800, 30.0)
        finally:
            bench.lab.stop()
    bystander = open_bench(tmp_path / "LOTQ-03", "LOTQ-03", db_url)
    try:
        bystander.run("- step: power_on\n- step: power_off", chip=ChipInfo("LOTQ-03", lot="LQ"))
    finally:
        bystander.lab.stop()

    result = CliRunner().invoke(main, ["query", "vmin", "--lot", "LQ", "--db", db_url])
    assert result.exit_code == 0, result.output
    engine = make_engine(db_url)
    rows = vmin_searches(engine, "LQ")
    engine.dispose()
    found = {(r.chip_serial, r.core_mhz, r.temperature_c): r.vmin_v for r in rows}
    assert set(found) == {(s, f, t) for s, _ in CHIPS for f in (400.0, 800.0) for t in (25.0, 85.0)} | {
        ("LOTQ-03", None, None)}
    assert found[("LOTQ-03", None, None)] is None
    for serial, _ in CHIPS:
        assert found[(serial, 400.0, 25.0)] < found[(serial, 800.0, 25.0)] < found[(serial, 800.0, 85.0)]
        # A search to 20 mV finds the die's own Vmin (at the die: the supply reads a little higher).
        assert truth[serial] - 0.005 <= found[(serial, 800.0, 25.0)] <= truth[serial] + 0.035
    assert "LOTQ-03" in result.output and "no Vmin search recorded" in result.output
    for serial, _ in CHIPS:
        assert f"{found[(serial, 800.0, 85.0)]:.3f}" in result.output

    out = tmp_path / "vmin.png"
    plotted = CliRunner().invoke(main, ["plot", "vmin", "--lot", "LQ", "--db", db_url, "--out", str(out)])
    assert plotted.exit_code == 0, plotted.output
    assert "no Vmin search recorded for LOTQ-03" in plotted.output
    assert out.stat().st_size > 10_000
