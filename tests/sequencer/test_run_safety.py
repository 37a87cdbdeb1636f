"""The safety rules of DESIGN.md, on the simulated lab, through the real drivers and the real
database: whatever ends a run, every rail ends off and the record says why."""

from __future__ import annotations

import pytest
from polling import wait_until
from sequencer_bench import Bench, in_background
from simlab_state import outputs_on
from sqlalchemy import func, select

from bringup.db.models import MeasurementRow, RailSampleRow, Run, Step
from bringup.events import Log, RailSample, RunStatus, StepStarted
from bringup.runbook import load_runbook
from bringup.steps.base import RunControl
from bringup.yamlfile import ConfigErrors

POWER_ON_AND_MEASURE = """
- step: power_on
- step: measure
  rail: VDD_CORE
  quantity: voltage
  low: 0.78
  high: 0.82
- step: power_off
"""


def _run_row(bench: Bench, run_id: str) -> tuple[str, str]:
    with bench.engine().connect() as conn:
        return conn.execute(select(Run.status, Run.reason).where(Run.id == run_id)).one()


def test_a_passing_run_is_recorded_and_ends_with_every_output_off(bench: Bench) -> None:
    report = bench.run(POWER_ON_AND_MEASURE.replace("- step: power_off", "- step: wait\n  seconds: 0.6\n- step: power_off"))
    assert report.status == RunStatus.PASSED, report.reason
    assert outputs_on(bench.lab) == []
    with bench.engine().connect() as conn:
        assert conn.execute(select(Run.status).where(Run.id == report.run_id)).scalar_one() == "passed"
        steps = conn.execute(select(Step.kind, Step.status).where(Step.run_id == report.run_id)
                             .order_by(Step.index)).all()
        assert steps == [("power_on", "passed"), ("measure", "passed"), ("wait", "passed"), ("power_off", "passed")]
        value = conn.execute(select(MeasurementRow.value).where(MeasurementRow.run_id == report.run_id)).scalar_one()
        assert value == pytest.approx(0.80, abs=0.02)
        samples = dict(conn.execute(select(RailSampleRow.rail, func.count()).group_by(RailSampleRow.rail)).all())
    # The monitor samples every powered rail at 20 Hz here: a 0.6 s wait alone gives ~12 each.
    assert set(samples) == {"VDD_CORE", "VDD_SRAM", "VDD_IO"}
    assert min(samples.values()) >= 5, samples
    with bench.engine().connect() as conn:
        last = {rail: volts for rail, volts, _ in conn.execute(
            select(RailSampleRow.rail, RailSampleRow.volts, RailSampleRow.time).order_by(RailSampleRow.time))}
    assert last == {"VDD_CORE": 0.0, "VDD_SRAM": 0.0, "VDD_IO": 0.0}  # the record ends with the rails down


def test_a_voltage_above_the_absolute_maximum_is_refused_before_any_instrument_is_touched(bench: Bench) -> None:
    body = POWER_ON_AND_MEASURE.replace("- step: power_off", "- step: set_rail\n  rail: VDD_CORE\n  volts: 1.2")
    with pytest.raises(ConfigErrors, match=r"above VDD_CORE.s absolute maximum of 0\.95 V"):
        bench.run(body)
    channels = [c for cs in bench.lab.physics.supplies.values() for c in cs]
    assert all(c.set_v == 0 and not c.output for c in channels)
    assert not bench.engine().connect().execute(select(func.count()).select_from(Run)).scalar_one()


def test_a_wrong_power_on_order_is_refused_before_any_instrument_is_touched(bench: Bench) -> None:
    with pytest.raises(ConfigErrors, match="VDD_SRAM would come up before VDD_CORE"):
        load_runbook(bench.runbook("- step: power_on\n  rails: [VDD_SRAM]"), _spec(bench))
    assert outputs_on(bench.lab) == []


def _spec(bench: Bench):
    from bringup.station import load_station

    return load_station(bench.station)


def test_a_rail_that_cannot_reach_its_voltage_takes_everything_down_in_reverse(bench: Bench) -> None:
    # The clocked core draws ~0.4 A: at a 0.2 A limit the over-current protection trips.
    station = bench.station_with("current_limit_a: 1.5", "current_limit_a: 0.2")
    report = bench.run(POWER_ON_AND_MEASURE, station=station)
    assert report.status == RunStatus.ERROR
    assert "VDD_CORE: OCP tripped holding 0.8 V (limit 0.2 A)" in report.reason
    assert outputs_on(bench.lab) == []
    assert _run_row(bench, report.run_id) == ("error", report.reason)


def test_an_over_current_while_running_trips_the_monitor_and_powers_down(bench: Bench) -> None:
    # Healthy at 500 MHz, but at 1000 MHz the core draws more than this limit allows.
    station = bench.station_with("current_limit_a: 1.5", "current_limit_a: 0.55")
    body = "- step: power_on\n- step: set_clock\n  mhz: 1000\n- step: wait\n  seconds: 30\n- step: power_off"
    report = bench.run(body, station=station)
    assert report.status == RunStatus.ERROR
    assert "rail monitor tripped: VDD_CORE" in report.reason
    assert outputs_on(bench.lab) == []
    status, reason = _run_row(bench, report.run_id)
    assert (status, reason) == ("error", report.reason)


def test_a_supply_that_stops_answering_ends_the_run_and_the_rest_is_powered_down(bench: Bench, monkeypatch) -> None:
    import bringup.power

    # The power-down retries the silent supply for SAFE_OFF_RETRY_S (5 s) before it reports it
    # not off; one second shows the same and keeps the suite short.
    monkeypatch.setattr(bringup.power, "SAFE_OFF_RETRY_S", 1.0)

    def on_event(event) -> None:
        if isinstance(event, StepStarted) and event.kind == "wait":
            bench.lab.faults("psu_io").stop_answering()

    report = bench.run("- step: power_on\n- step: wait\n  seconds: 30\n- step: power_off", on_event=on_event)
    assert report.status == RunStatus.ERROR
    assert "psu_io stopped answering" in report.reason
    # What answers is off; what does not is reported, never assumed off.
    assert "power-down incomplete: VDD_IO off" in report.reason
    assert outputs_on(bench.lab) == ["psu_io ch1"]
    bench.lab.faults("psu_io").clear()
    from bringup.estop import emergency_stop

    assert all(result.ok for result in emergency_stop(_spec(bench)))
    assert outputs_on(bench.lab) == []


def test_a_hung_chip_is_a_timeout_error_and_the_rails_go_down(bench: Bench) -> None:
    # Far below its Vmin the chip hangs in RUN until it is power-cycled.
    assert bench.lab.chip.vmin(500) - 0.55 > 0.08
    body = """
- step: power_on
- step: set_rail
  rail: VDD_CORE
  volts: 0.55
- step: run_vectors
  suite: directed
  clock_mhz: 500
- step: power_off
"""
    report = bench.run(body)
    assert report.status == RunStatus.ERROR
    assert "DutTimeout" in report.reason and "did not answer 'RUN " in report.reason
    assert outputs_on(bench.lab) == []


def test_abort_puts_the_bench_in_its_safe_state_before_the_run_unwinds(bench: Bench) -> None:
    control = RunControl()
    states_at_abort: list[list[str]] = []

    def abort_now() -> None:
        control.abort("operator pressed abort")
        states_at_abort.append(outputs_on(bench.lab))  # read right after abort() returns

    def on_event(event) -> None:
        if isinstance(event, StepStarted) and event.kind == "wait":
            in_background(abort_now)

    report = bench.run("- step: power_on\n- step: wait\n  seconds: 60\n- step: power_off",
                       control=control, on_event=on_event)
    assert states_at_abort == [[]]
    assert report.status == RunStatus.ABORTED and report.reason == "operator pressed abort"
    assert _run_row(bench, report.run_id) == ("aborted", "operator pressed abort")


def test_stop_finishes_the_current_step_then_tears_down(bench: Bench) -> None:
    control = RunControl()

    def on_event(event) -> None:
        if isinstance(event, StepStarted) and event.kind == "wait":
            control.stop()

    body = "- step: power_on\n- step: wait\n  seconds: 1\n- step: measure\n  rail: VDD_CORE\n  quantity: voltage"
    report = bench.run(body, control=control, on_event=on_event)
    assert report.status == RunStatus.ABORTED
    assert report.reason.startswith("stopped by the operator (before step 3")
    with bench.engine().connect() as conn:
        kinds = conn.execute(select(Step.kind, Step.status).where(Step.run_id == report.run_id)
                             .order_by(Step.index)).all()
    assert kinds == [("power_on", "passed"), ("wait", "passed")]  # the wait ran to its end
    assert outputs_on(bench.lab) == []


def test_a_paused_run_holds_between_steps_with_the_chip_powered_until_resumed(bench: Bench) -> None:
    control = RunControl()
    events: list = []

    def on_event(event) -> None:
        events.append(event)
        if isinstance(event, StepStarted) and event.kind == "wait":
            control.pause()  # the wait lasts 1 s: the pause is in before the run reaches step 3

    def samples_since_the_hold() -> int:
        held = [i for i, e in enumerate(events) if isinstance(e, Log) and e.text.startswith("paused before step 3")]
        return sum(isinstance(e, RailSample) for e in events[held[0]:]) if held else 0

    result = []
    thread = in_background(lambda: result.append(bench.run(
        "- step: power_on\n- step: wait\n  seconds: 1\n- step: checkpoint\n- step: power_off",
        control=control, on_event=on_event)))
    # The monitor keeps sampling the powered chip while the run holds: time passes, no step starts.
    wait_until(lambda: samples_since_the_hold() >= 3 * 10, timeout=30, what="the run to hold for 10 samples")
    assert [e.kind for e in events if isinstance(e, StepStarted)] == ["power_on", "wait"]
    assert outputs_on(bench.lab)
    control.resume()
    thread.join(30)
    assert result[0].status == RunStatus.PASSED, result[0].reason
    assert [e.kind for e in events if isinstance(e, StepStarted)] == ["power_on", "wait", "checkpoint", "power_off"]


def test_a_scripted_run_with_steps_built_in_code(bench: Bench) -> None:
    from bringup.api import run_runbook
    from bringup.runbook import LoadedRunbook, Measure, PowerOff, PowerOn

    steps = [PowerOn(step="power_on"),
             Measure(step="measure", name="core current", rail="VDD_CORE", quantity="current", low=0.01, high=1.0),
             PowerOff(step="power_off")]
    report = run_runbook(LoadedRunbook.from_steps("scripted", steps), bench.station, "SIM-0001", db_url=bench.db_url)
    assert report.status == RunStatus.PASSED, report.reason
    with bench.engine().connect() as conn:
        name, value = conn.execute(select(MeasurementRow.name, MeasurementRow.value)
                                   .where(MeasurementRow.run_id == report.run_id)).one()
    assert name == "core current" and 0.01 < value < 1.0


def test_a_scripted_runbook_is_checked_against_the_station_before_anything_runs(bench: Bench) -> None:
    from bringup.api import run_runbook
    from bringup.runbook import LoadedRunbook, SetRail

    steps = [SetRail(step="set_rail", rail="VDD_PLL", volts=0.8)]
    with pytest.raises(ConfigErrors, match="rail 'VDD_PLL' is not on station simlab"):
        run_runbook(LoadedRunbook.from_steps("bad", steps), bench.station, "SIM-0001", db_url=bench.db_url)
    assert outputs_on(bench.lab) == []
