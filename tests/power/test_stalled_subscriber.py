"""A subscriber whose writes block for 60 s (a stalled database) never delays a power-down: not
an abort's, not the end of a run's. The bus's bounded wait then faults the run, and nothing the
subscriber was given is dropped (rail samples aside, which may be thinned)."""

from __future__ import annotations

import threading
import time

from fake_bench import FakeBench, fake_bench
from polling import wait_until

from bringup.events import EventBus, RailSample, RunEvent, RunStatus, StepStarted
from bringup.sequencer import ChipInfo, RunReport, Sequencer
from bringup.steps.base import RunControl

STALL_S = 60.0


class StalledBench:
    """The fake bench, a bus and a lossless subscriber stuck in its first write."""

    def __init__(self, bench: FakeBench, control: RunControl, *, stall_from_step: int = -1,
                 full_timeout_s: float = 1.0) -> None:
        self.bench = bench
        self.stall_from_step = stall_from_step  # -1: from the first event
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.received: list[object] = []
        self.published: list[RunEvent] = []
        self.bus = EventBus()
        self.sub = self.bus.subscribe(self._write, name="stalled-db", maxsize=4, lossless=True,
                                      full_timeout_s=full_timeout_s, on_overflow=control.fault)
        self.control = control

    def _write(self, event: object) -> None:
        self.received.append(event)
        if self.stall_from_step < 0 or (isinstance(event, StepStarted) and event.index == self.stall_from_step):
            self.stalled.set()
        if self.stalled.is_set():
            self.release.wait(STALL_S)

    def publish(self, event: RunEvent) -> None:
        self.published.append(event)
        self.bench.log.add("bus", "publish", event)
        self.bus.publish(event)

    def start(self, body: str) -> tuple[threading.Thread, list[RunReport]]:
        sequencer = Sequencer(station=self.bench.station, runbook=self.bench.runbook(body),
                              chip=ChipInfo(serial="FAKE-1"), publish=self.publish, control=self.control,
                              monitor_hz=20)
        reports: list[RunReport] = []
        thread = threading.Thread(target=lambda: reports.append(sequencer._run()), daemon=True)
        thread.start()
        return thread, reports

    def finish(self, thread: threading.Thread) -> None:
        self.release.set()
        thread.join(30)
        self.bus.close(timeout=30)


def test_a_stalled_subscriber_does_not_delay_an_abort() -> None:
    control = RunControl()
    stalled = StalledBench(fake_bench(), control)
    thread, reports = stalled.start("  - step: power_on\n  - step: wait\n    seconds: 60\n")
    try:
        wait_until(lambda: stalled.sub.dropped_total > 3, timeout=30, what="the subscriber's queue to fill")
        assert stalled.bench.outputs_on()
        started = time.monotonic()
        control.abort("operator pressed abort")
        took = time.monotonic() - started
        assert stalled.bench.outputs_on() == []
        assert took < 0.5, f"the power-down took {took:.2f} s behind a stalled subscriber"
    finally:
        stalled.finish(thread)
    assert reports[0].status == RunStatus.ABORTED


def test_a_subscriber_that_stalls_in_the_last_step_does_not_delay_the_end_of_run_power_down() -> None:
    control = RunControl()
    stalled = StalledBench(fake_bench(), control, stall_from_step=1, full_timeout_s=STALL_S)
    thread, reports = stalled.start("  - step: power_on\n  - step: wait\n    seconds: 1\n")
    try:
        wait_until(lambda: stalled.bench.clock.output, timeout=30, what="the chip to be powered and clocked")
        wait_until(lambda: stalled.stalled.is_set() and stalled.sub.dropped_total > 0, timeout=30,
                   what="the subscriber to stall with a full queue")
        wait_until(lambda: stalled.bench.outputs_on() == [], timeout=30, what="the end-of-run power-down")
        assert thread.is_alive(), "the run ended: it never had to wait on the stalled subscriber"
    finally:
        stalled.finish(thread)
    # The rails went down before the last step's verdict was published.
    entries = stalled.bench.log.since(0)
    off_at = [i for i, (who, what, value) in enumerate(entries) if what == "set_output" and value is False]
    finished_at = [i for i, (who, what, event) in enumerate(entries)
                   if what == "publish" and type(event).__name__ == "StepFinished" and event.index == 1]
    assert finished_at and max(off_at) < finished_at[0]
    assert reports[0].status == RunStatus.PASSED, reports[0].reason
    # The subscriber got every event but thinned rail samples, in order.
    wanted = [e for e in stalled.published if not isinstance(e, RailSample)]
    assert [e for e in stalled.received if not isinstance(e, RailSample)] == wanted


def test_a_subscriber_stalled_past_its_timeout_faults_the_run_which_powers_down() -> None:
    control = RunControl()
    stalled = StalledBench(fake_bench(), control)
    thread, reports = stalled.start("  - step: power_on\n  - step: wait\n    seconds: 60\n")
    try:
        wait_until(lambda: stalled.sub.overflowed, timeout=30, what="the subscriber's bounded wait to run out")
        wait_until(lambda: stalled.bench.outputs_on() == [], timeout=5, what="the power-down after the fault")
    finally:
        stalled.finish(thread)
    assert reports[0].status == RunStatus.ERROR and "'stalled-db' took no event for 1 s" in reports[0].reason
    wanted = [e for e in stalled.published if not isinstance(e, RailSample)]
    assert [e for e in stalled.received if not isinstance(e, RailSample)] == wanted
