"""A vmin step on the simulated lab: its progress counts searches, never goes back and ends at its
total; its forcer samples are recorded and read back by a follower (`bringup tui --attach`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sweep_bench import SweepBench, open_bench

from bringup.db.engine import make_engine
from bringup.events import Dropped, Measurement, SweepPoint, ThermalSample
from bringup.sequencer import RunReport
from bringup.tui.follow import RunFollower
from bringup.tui.live_state import LiveRun, ThermalReading

# 12 voltages x 2 clocks x 2 temperatures: four searches of a few points each.
VMIN = """
- step: power_on
- step: vmin
  name: Vmin hot and cold
  volts: {start: 0.62, stop: 0.84, step: 0.02}
  mhz: [400, 800]
  temperatures_c: [25, 85]
  hang_timeout_s: 0.5
  soak_s: 5
- step: power_off
"""
VMIN_STEP = 1
SEARCHES = 4


@pytest.fixture(scope="module")
def vmin_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SweepBench, RunReport, list[object]]]:
    bench = open_bench(tmp_path_factory.mktemp("vmin"), "SIM-0001")
    seen: list[object] = []
    try:
        report = bench.run(VMIN, watchers=[seen.append])
        assert report.status == "passed", report.reason
        assert not [e for e in seen if isinstance(e, Dropped)], "the watcher saw every event"
        yield bench, report, seen
        assert not bench.lab.chip.damaged, bench.lab.chip.damage
    finally:
        bench.lab.stop()


def test_vmin_progress_counts_searches_never_goes_back_and_ends_at_its_total(vmin_run) -> None:
    _, _, seen = vmin_run
    points = [e for e in seen if isinstance(e, SweepPoint)]
    dones = [p.done for p in points]

    assert {p.total for p in points} == {SEARCHES}
    assert dones == sorted(dones), "progress never goes back"
    assert sorted(set(dones)) == list(range(SEARCHES + 1))  # one search at a time
    assert (points[-1].done, points[-1].total) == (SEARCHES, SEARCHES)
    assert len(points) < 12 * 2 * 2  # a search measures a few points, not its whole column
    # Each count is reached at the point its search decided: the Vmin it recorded.
    vmins = {(m.conditions.core_mhz, m.conditions.temperature_c): m.value
             for m in seen if isinstance(m, Measurement) and m.name == "vmin"}
    ends = [p for before, p in zip([None, *points], points, strict=False)
            if before is not None and p.done > before.done]
    assert len(ends) == SEARCHES == len(vmins)
    for end in ends:
        c = end.conditions
        assert end.outcome == "pass" and c.vdd_core_v == vmins[(c.core_mhz, c.temperature_c)]


def test_following_the_recorded_vmin_reads_its_temperatures_and_its_full_bar(vmin_run) -> None:
    bench, report, seen = vmin_run
    live = LiveRun()
    followed: list[object] = []

    def watcher(event: object) -> None:
        followed.append(event)
        live(event)

    engine = make_engine(bench.db_url)
    try:
        follower = RunFollower(engine, report.run_id, watcher)
        while follower.poll():  # a page at a time, as the attached screen reads it
            pass
    finally:
        engine.dispose()
    emitted = [e for e in seen if isinstance(e, ThermalSample)]
    last = emitted[-1]
    snap = live.snapshot()

    assert {e.setpoint_c for e in emitted} == {25.0, 85.0}
    assert [e for e in followed if isinstance(e, ThermalSample)] == emitted  # every field, exactly
    assert snap is not None and snap.thermal == ThermalReading(last.setpoint_c, last.forcer_c, last.die_c,
                                                               last.at_temperature, last.head)
    vmin_row = snap.steps[VMIN_STEP]
    assert (vmin_row.name, vmin_row.done, vmin_row.total) == ("Vmin hot and cold", SEARCHES, SEARCHES)
