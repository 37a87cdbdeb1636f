"""Abort, trip and ramps on fake supplies, where timing matters: an abort reaches a safe state
within one ramp step and never waits for a power-on; a ramp ends on its target in whole steps."""

from __future__ import annotations

import threading
import time

import pytest
from fake_bench import FakeBench, fake_bench, raises_power
from polling import wait_until

from bringup.events import RunEvent, RunStatus, StepStarted
from bringup.power import LimitViolation, PowerController, PowerHalted, PowerState, ramp_levels
from bringup.sequencer import ChipInfo, RunReport, Sequencer
from bringup.steps.base import ChipNotRunning, RunControl, StepContext

POWER_ON_ONLY = "  - step: power_on\n"


def _sequencer(bench: FakeBench, body: str, control: RunControl, publish=None) -> Sequencer:
    events: list[RunEvent] = []
    return Sequencer(station=bench.station, runbook=bench.runbook(body), chip=ChipInfo(serial="FAKE-1"),
                     publish=publish or events.append, control=control, monitor_hz=20)


def _in_background(sequencer: Sequencer) -> tuple[threading.Thread, list[RunReport]]:
    reports: list[RunReport] = []
    thread = threading.Thread(target=lambda: reports.append(sequencer._run()), daemon=True)
    thread.start()
    return thread, reports


def _ramping(bench: FakeBench, rail: str = "VDD_A") -> bool:
    return any(who == rail and what == "set_voltage" and value > 0 for who, what, value in bench.log.since(0))


def test_abort_a_tenth_of_a_second_into_a_power_on_has_every_output_off_at_once() -> None:
    # 0.9 V at 1 V/s in 0.05 V steps: each rail ramps ~0.9 s, the three ~2.7 s.
    bench = fake_bench(ramp_step_v=0.05, ramp_rate_v_per_s=1.0)
    control = RunControl()
    thread, reports = _in_background(_sequencer(bench, POWER_ON_ONLY, control))
    wait_until(lambda: _ramping(bench), timeout=10, what="the first rail to ramp")
    mark = bench.log.index()
    started = time.monotonic()
    control.abort("operator pressed abort")
    took = time.monotonic() - started
    assert bench.outputs_on() == [], "abort returned with outputs still on"
    assert took < 0.5, f"abort took {took:.2f} s"
    # At most the one command that was in flight when the abort came raised power after it.
    assert len([entry for entry in bench.log.since(mark) if raises_power(entry)]) <= 1
    thread.join(10)
    assert reports[0].status == RunStatus.ABORTED and reports[0].reason == "operator pressed abort"
    assert not any(who == "VDD_C" and raises_power((who, what, value))
                   for who, what, value in bench.log.since(0)), "the power-on went on after the abort"


def test_a_huge_ramp_is_left_at_once_on_abort() -> None:
    bench = fake_bench(ramp_step_v=0.1, ramp_rate_v_per_s=0.001)  # 100 s per step, 900 s per rail
    control = RunControl()
    thread, reports = _in_background(_sequencer(bench, POWER_ON_ONLY, control))
    wait_until(lambda: _ramping(bench), timeout=10, what="the first ramp step")
    control.abort("interrupted by Ctrl-C (SIGINT)")
    thread.join(10)
    assert not thread.is_alive(), "the run still waits inside its ramp"
    assert reports[0].status == RunStatus.ABORTED
    assert bench.outputs_on() == []


def test_nothing_is_powered_after_an_abort_until_the_run_is_over() -> None:
    bench = fake_bench()
    power = PowerController(bench.station.rails, bench.spec.power_on_order)
    power.halt("abort: operator pressed abort")
    mark = bench.log.index()
    with pytest.raises(PowerHalted, match="operator pressed abort"):
        power.power_on()
    with pytest.raises(PowerHalted):
        power.set_rail("VDD_A", 0.5)
    assert power.state is PowerState.ABORTED
    assert not [entry for entry in bench.log.since(mark) if raises_power(entry)]


def test_a_trip_stays_a_trip_when_an_abort_follows() -> None:
    bench = fake_bench()
    power = PowerController(bench.station.rails, bench.spec.power_on_order)
    power.power_on()
    power.halt("VDD_A: over-current", PowerState.TRIPPED)
    power.halt("abort: too late")
    assert power.state is PowerState.TRIPPED and power.halt_reason == "VDD_A: over-current"


def test_a_ramp_to_a_target_with_many_decimals_lands_on_it() -> None:
    bench = fake_bench(nominal_v=0.6041666, ramp_step_v=0.1)
    power = PowerController(bench.station.rails, bench.spec.power_on_order)
    power.power_on(["VDD_A"])
    levels = [value for who, what, value in bench.log.since(0) if who == "VDD_A" and what == "set_voltage"]
    assert levels[-1] == 0.6041666
    assert len([level for level in levels if level > 0]) == 7  # ceil(0.6041666 / 0.1)
    power.close()


def test_ramp_levels_are_whole_steps_no_larger_than_the_step() -> None:
    assert list(ramp_levels(0.0, 0.3, 0.1)) == pytest.approx([0.1, 0.2, 0.3])
    down = list(ramp_levels(0.8, 0.55, 0.1))
    assert len(down) == 3 and down[-1] == 0.55
    assert all(abs(b - a) <= 0.1 + 1e-12 for a, b in zip([0.8, *down], down, strict=False))


def test_a_tiny_ramp_step_is_refused_before_any_output_is_enabled() -> None:
    bench = fake_bench(ramp_step_v=1e-7)
    power = PowerController(bench.station.rails, bench.spec.power_on_order)
    with pytest.raises(LimitViolation, match=r"VDD_A: .* steps .* raise ramp_step_v"):
        power.power_on()
    assert not [entry for entry in bench.log.since(0) if raises_power(entry)]


def test_the_clock_starts_only_when_every_rail_is_up() -> None:
    bench = fake_bench()
    power = PowerController(bench.station.rails, bench.spec.power_on_order, clock=(bench.clock, bench.spec.clock))
    power.power_on(["VDD_A"])
    assert not bench.clock.output and not power.clock_running
    ctx = StepContext(run_id="r", station=bench.station, power=power, control=RunControl(), publish=print,
                      dut_factory=None)
    with pytest.raises(ChipNotRunning, match=r"not powered on every rail .*rails up: VDD_A"):
        ctx.require_running_chip()
    power.power_on(["VDD_B", "VDD_C"])
    assert bench.clock.output and power.clock_running
    power.safe_off()
    power.close()


def test_a_trip_noted_as_the_last_step_returns_ends_the_run_as_error() -> None:
    bench = fake_bench()
    channel = bench.channels["VDD_A"]
    monitor_read = threading.Event()
    original_measure_current = channel.measure_current

    def measure_current() -> float:
        value = original_measure_current()
        if threading.current_thread().name == "rail-monitor" and value > 1.0:
            monitor_read.set()
        return value

    def over_current_during_the_step() -> None:
        if threading.current_thread().name == "sequencer-test" and channel.load_a < 1:
            channel.load_a = 1.5  # above the 1.0 A limit
            monitor_read.wait(5)  # the monitor has seen it; the step returns as if all were well

    channel.measure_current = measure_current  # type: ignore[method-assign]

    def publish(event: RunEvent) -> None:
        if isinstance(event, StepStarted) and event.kind == "measure":
            channel.on_measure_voltage = over_current_during_the_step

    body = "  - step: power_on\n  - step: measure\n    rail: VDD_A\n    quantity: voltage\n"
    sequencer = _sequencer(bench, body, RunControl(), publish=publish)
    reports: list[RunReport] = []
    thread = threading.Thread(target=lambda: reports.append(sequencer._run()), name="sequencer-test")
    thread.start()
    thread.join(30)
    assert reports[0].status == RunStatus.ERROR, reports[0].reason
    assert "rail monitor tripped: VDD_A: over-current" in reports[0].reason
    assert bench.outputs_on() == []


class _LoggedControl(RunControl):
    """Notes in the bench's command log when the run is told of a fault."""

    def __init__(self, bench: FakeBench) -> None:
        super().__init__()
        self.bench = bench

    def fault(self, reason: str) -> None:
        self.bench.log.add("control", "fault", reason)
        self.bench.channels["VDD_C"].silent = False  # answers again: the power-down need not retry
        super().fault(reason)


def test_a_silent_supply_is_reported_to_the_run_before_the_power_down_retries_it() -> None:
    bench = fake_bench()
    control = _LoggedControl(bench)
    events: list[RunEvent] = []
    body = POWER_ON_ONLY + "  - step: wait\n    seconds: 60\n"
    thread, reports = _in_background(_sequencer(bench, body, control, publish=events.append))
    wait_until(lambda: any(isinstance(e, StepStarted) and e.kind == "wait" for e in events), timeout=10,
               what="the run to wait with the chip powered")
    mark = bench.log.index()
    bench.channels["VDD_C"].silent = True
    thread.join(30)
    entries = bench.log.since(mark)
    fault_at = next(i for i, (who, what, _) in enumerate(entries) if who == "control")
    first_off = next(i for i, (_, what, value) in enumerate(entries) if what == "set_output" and value is False)
    assert fault_at < first_off, "the monitor powered down before it told the run"
    assert reports[0].status == RunStatus.ERROR
    assert "VDD_C: supply psu stopped answering" in reports[0].reason


def test_a_station_without_a_console_says_the_chip_identity_is_not_checked() -> None:
    from bringup.events import Log

    bench = fake_bench()
    events: list[RunEvent] = []
    report = _sequencer(bench, POWER_ON_ONLY, RunControl(), publish=events.append)._run()
    assert report.status == RunStatus.PASSED, report.reason
    assert any(isinstance(e, Log) and "has no console: the chip's identity is not checked" in e.text
               for e in events)


def test_a_step_that_fails_because_of_an_abort_is_recorded_as_the_abort_with_the_failure_as_consequence() -> None:
    from bringup.events import StepFinished

    bench = fake_bench()
    control = RunControl()
    channel = bench.channels["VDD_A"]
    events: list[RunEvent] = []

    def abort_then_fail() -> None:
        if threading.current_thread().name == "sequencer-test":
            control.abort("interrupted by Ctrl-C (SIGINT)")
            raise TimeoutError("VDD_A: no answer while the chip lost power")

    def publish(event: RunEvent) -> None:
        events.append(event)
        if isinstance(event, StepStarted) and event.kind == "measure":
            channel.on_measure_voltage = abort_then_fail

    body = "  - step: power_on\n  - step: measure\n    rail: VDD_A\n    quantity: voltage\n"
    sequencer = _sequencer(bench, body, control, publish=publish)
    reports: list[RunReport] = []
    thread = threading.Thread(target=lambda: reports.append(sequencer._run()), name="sequencer-test")
    thread.start()
    thread.join(30)
    assert (reports[0].status, reports[0].reason) == (RunStatus.ABORTED, "interrupted by Ctrl-C (SIGINT)")
    step = next(e for e in events if isinstance(e, StepFinished) and e.index == 1)
    assert step.status == "aborted"
    assert step.message == ("interrupted by Ctrl-C (SIGINT) (the step then ended: TimeoutError: VDD_A: no "
                            "answer while the chip lost power)")


def test_an_abort_from_a_signal_handler_on_the_ramping_thread_neither_deadlocks_nor_leaves_power_on() -> None:
    bench = fake_bench()
    power = PowerController(bench.station.rails, bench.spec.power_on_order)
    channel = bench.channels["VDD_A"]
    send = channel.set_output

    def set_output_then_signal(on: bool) -> None:
        if on:  # the handler runs on this thread after the latch was checked, before the command
            power.halt("abort: interrupted by Ctrl-C (SIGINT)")
        send(on)

    channel.set_output = set_output_then_signal  # type: ignore[method-assign]
    finished = threading.Event()

    def power_on() -> None:
        with pytest.raises(PowerHalted):
            power.power_on()
        finished.set()

    threading.Thread(target=power_on, daemon=True).start()
    assert finished.wait(10), "the power-on deadlocked on its own abort"
    assert bench.outputs_on() == []
    assert power.state is PowerState.ABORTED
