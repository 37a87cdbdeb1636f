"""LiveRun: events folded on the bus thread, read by the UI as coalesced snapshots."""

from __future__ import annotations

import threading

from bringup.events import (
    Conditions,
    ConsoleLine,
    Dropped,
    Log,
    Measurement,
    RailSample,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    VectorResult,
)
from bringup.tui.live_state import FAILURES_KEPT, RAIL_HISTORY, LiveRun
from bringup.tui.widgets.rails import sparkline

RUN = "r1"
RUNBOOK_TEXT = "name: t\nsteps:\n  - step: power_on\n  - step: measure\n    name: core volts\n    rail: VDD_CORE\n    quantity: voltage\n"


def started(live: LiveRun) -> None:
    live(RunStarted(run_id=RUN, chip_serial="SIM-0001", station_name="s", runbook_name="t",
                    runbook_hash="h", runbook_text=RUNBOOK_TEXT))


def vector(index: int, passed: bool) -> VectorResult:
    return VectorResult(run_id=RUN, step_index=0, vector_name=f"v{index}", content_hash="c", passed=passed,
                        expected=(1,), actual=(1 if passed else 3,), first_mismatch_addr=None if passed else 0x80,
                        flipped_bits=0 if passed else 2, conditions=Conditions(vdd_core_v=0.7, core_mhz=800))


def test_pending_steps_show_from_the_start_and_take_their_status_as_they_run():
    live = LiveRun()
    started(live)
    snap = live.snapshot()
    assert [(s.name, s.status) for s in snap.steps] == [("power_on", "pending"), ("core volts", "pending")]
    live(StepStarted(run_id=RUN, index=0, name="power_on", kind="power_on"))
    live(StepFinished(run_id=RUN, index=0, status=StepStatus.PASSED, message="powered"))
    live(StepStarted(run_id=RUN, index=1, name="core volts", kind="measure"))
    snap = live.snapshot()
    assert [(s.status, s.message) for s in snap.steps] == [("passed", "powered"), ("running", "")]
    assert snap.current_step == "2. core volts" and snap.status == "running"


def test_no_snapshot_when_nothing_happened_and_console_lines_are_handed_over_once():
    live = LiveRun()
    started(live)
    live(ConsoleLine(run_id=RUN, text="ID", direction="tx"))
    live(Log(run_id=RUN, text="rail trip", level="warning"))
    assert live.snapshot().new_lines == (("tx", "ID"), ("warning", "rail trip"))
    assert live.snapshot() is None
    live(ConsoleLine(run_id=RUN, text="OK chip=SIM-0001"))
    assert live.snapshot().new_lines == (("rx", "OK chip=SIM-0001"),)


def test_a_flood_of_events_from_another_thread_becomes_one_snapshot_with_exact_counts():
    live = LiveRun()
    started(live)
    live.snapshot()

    def flood() -> None:
        for i in range(20_000):
            live(vector(i, passed=i % 100 != 0))
            live(RailSample(run_id=RUN, rail="VDD_CORE", volts=0.8, amps=i / 1e5))

    sender = threading.Thread(target=flood)
    sender.start()
    sender.join()
    snap = live.snapshot()
    assert (snap.vectors_passed, snap.vectors_failed) == (19_800, 200)
    assert len(snap.vector_failures) == FAILURES_KEPT
    assert snap.vector_failures[-1].vector_name == "v19900"
    assert snap.vector_failures[-1].first_mismatch_addr == 0x80 and snap.vector_failures[-1].flipped_bits == 2
    (core,) = snap.rails
    assert len(core.amps_history) == RAIL_HISTORY
    assert core.amps == 19_999 / 1e5


def test_only_measurements_outside_limits_are_kept_and_the_end_says_why():
    live = LiveRun()
    started(live)
    live(Measurement(run_id=RUN, step_index=1, name="core volts", value=0.9, units="V", low=0.78, high=0.82,
                     passed=False))
    live(Measurement(run_id=RUN, step_index=1, name="io volts", value=1.8, units="V", low=1.7, high=1.9,
                     passed=True))
    live(Dropped(count=7))
    live(RunFinished(run_id=RUN, status=RunStatus.FAILED, reason="1 step(s) failed"))
    snap = live.snapshot()
    assert [(f.name, f.value) for f in snap.limit_failures] == [("core volts", 0.9)]
    assert snap.finished and (snap.status, snap.reason) == ("failed", "1 step(s) failed")
    assert snap.dropped == 7


def test_sparkline_scales_between_the_lowest_and_highest_value():
    assert sparkline((1.0, 2.0, 3.0)) == "▁▄█"
    assert sparkline((0.5, 0.5)) == "▁▁"
    assert sparkline(tuple(float(i) for i in range(100)), width=10) == sparkline(tuple(range(90, 100)))
    assert sparkline(()) == ""
