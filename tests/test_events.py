"""The event bus: a slow ordinary subscriber never blocks the publisher and is told what it
missed; a lossless subscriber slows the publisher down and misses nothing."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from polling import wait_until

from bringup.events import (
    BusClosedError,
    Dropped,
    EventBus,
    Log,
    Measurement,
    RailSample,
    RunFinished,
    RunStatus,
)


def log_event(i: int) -> Log:
    return Log(run_id="r1", text=str(i))


class GatedSubscriber:
    """Records what it receives; blocks inside the handler until the gate opens."""

    def __init__(self) -> None:
        self.received: list[object] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, event: object) -> None:
        self.entered.set()
        assert self.gate.wait(10), "test never opened the gate"
        self.received.append(event)

    def texts(self) -> list[object]:
        return [f"dropped {e.count}" if isinstance(e, Dropped) else e.text for e in self.received]


def test_events_are_frozen_and_carry_run_id_and_wall_clock_time():
    before = time.time()
    event = Measurement(run_id="r1", step_index=2, name="idd", value=0.1, units="A")

    assert before <= event.ts <= time.time()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.value = 0.2  # type: ignore[misc]
    assert not hasattr(event, "__dict__")  # slots


def test_each_subscriber_gets_every_event_in_order():
    seen_a, seen_b = [], []
    with EventBus() as bus:
        bus.subscribe(seen_a.append, name="a")
        bus.subscribe(seen_b.append, name="b", lossless=True)
        events = [log_event(i) for i in range(100)]
        for event in events:
            bus.publish(event)
    assert seen_a == events == seen_b


def test_a_slow_subscriber_drops_without_blocking_and_is_told_where_and_how_many():
    slow = GatedSubscriber()
    bus = EventBus()
    sub = bus.subscribe(slow, name="tui", maxsize=2)

    bus.publish(log_event(0))
    assert slow.entered.wait(5)  # event 0 is in the handler, the queue is empty
    start = time.monotonic()
    for i in range(1, 10):  # 1 and 2 fit the queue; 3..9 do not
        bus.publish(log_event(i))
    publish_time = time.monotonic() - start
    slow.gate.set()
    wait_until(lambda: len(slow.received) == 3)  # the queue has room again
    bus.publish(log_event(10))
    bus.close()

    assert publish_time < 1.0  # the gate was shut all along: publish did not wait for it
    assert slow.texts() == ["0", "1", "2", "dropped 7", "10"]
    assert sub.dropped_total == 7


def test_close_reports_drops_that_no_later_event_carried():
    slow = GatedSubscriber()
    bus = EventBus()
    bus.subscribe(slow, maxsize=1)
    bus.publish(log_event(0))
    assert slow.entered.wait(5)
    for i in range(1, 5):
        bus.publish(log_event(i))
    slow.gate.set()
    bus.close()

    assert slow.texts() == ["0", "1", "dropped 3"]


def test_a_lossless_subscriber_makes_publish_wait_and_loses_nothing():
    recorder = GatedSubscriber()
    bus = EventBus()
    bus.subscribe(recorder, name="recorder", maxsize=1, lossless=True)
    published: list[int] = []

    def publish_all() -> None:
        for i in range(20):
            bus.publish(log_event(i))
            published.append(i)

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    assert recorder.entered.wait(5)
    publisher.join(0.3)
    assert publisher.is_alive(), "publish should wait while the lossless queue is full"
    assert len(published) <= 2  # one in the handler, one queued

    recorder.gate.set()
    publisher.join(10)
    bus.close()
    assert recorder.texts() == [str(i) for i in range(20)]


def test_a_failing_subscriber_does_not_stop_delivery():
    seen = []

    def broken(event: object) -> None:
        raise ValueError("subscriber bug")

    with EventBus() as bus:
        bus.subscribe(broken, name="broken")
        bus.subscribe(seen.append, name="ok")
        bus.publish(log_event(1))
        bus.publish(RunFinished(run_id="r1", status=RunStatus.PASSED))
    assert [type(e).__name__ for e in seen] == ["Log", "RunFinished"]


def test_close_delivers_what_is_queued_and_then_refuses_events():
    slow = GatedSubscriber()
    bus = EventBus()
    bus.subscribe(slow, maxsize=100)
    for i in range(50):
        bus.publish(log_event(i))
    slow.gate.set()
    bus.close()

    assert len(slow.received) == 50
    with pytest.raises(BusClosedError, match="closed"):
        bus.publish(log_event(51))


def test_a_lossless_subscriber_stuck_past_its_timeout_is_overflowed_once_and_loses_nothing():
    recorder = GatedSubscriber()
    overflows: list[str] = []
    bus = EventBus()
    sub = bus.subscribe(recorder, name="recorder", maxsize=2, lossless=True, full_timeout_s=0.2,
                        on_overflow=overflows.append)
    publisher = threading.Thread(target=lambda: [bus.publish(log_event(i)) for i in range(50)])
    publisher.start()
    publisher.join(10)
    # publish waited once, for the bounded time, then never again: the rest waits in memory.
    assert not publisher.is_alive(), "publish still waits on a stuck lossless subscriber"
    assert sub.overflowed and len(overflows) == 1 and "'recorder' took no event for 0.2 s" in overflows[0]
    recorder.gate.set()
    bus.close()
    assert recorder.texts() == [str(i) for i in range(50)]


def test_rail_samples_are_thinned_for_a_stuck_lossless_subscriber_instead_of_waited_for():
    recorder = GatedSubscriber()
    bus = EventBus()
    sub = bus.subscribe(recorder, name="recorder", maxsize=2, lossless=True, full_timeout_s=60)
    publisher = threading.Thread(target=lambda: [
        bus.publish(RailSample(run_id="r", rail="VDD", volts=0.8, amps=0.1)) for _ in range(20)])
    publisher.start()
    publisher.join(10)
    assert not publisher.is_alive(), "a rail sample waited on a stuck subscriber"
    assert sub.dropped_total >= 17 and not sub.overflowed
    recorder.gate.set()
    bus.close()


def test_a_batch_in_the_delivery_threads_hands_still_counts_against_the_bound():
    # latency_s=60: the thread takes events only when they are due, here when the queue is full,
    # so it takes all four at once; the publisher must then wait with four events waiting (three
    # of the batch, one queued) and one in the handler, as with one-at-a-time delivery.
    recorder = GatedSubscriber()
    bus = EventBus()
    bus.subscribe(recorder, name="recorder", maxsize=4, lossless=True, latency_s=60)
    published: list[int] = []

    def publish_all() -> None:
        for i in range(10):
            bus.publish(log_event(i))
            published.append(i)

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    assert recorder.entered.wait(5)
    publisher.join(0.3)
    assert publisher.is_alive(), "publish should wait while the batch in hand fills the bound"
    assert len(published) == 5  # four waiting (three of them taken in the batch), one delivered

    recorder.gate.set()
    publisher.join(10)
    bus.close()
    assert recorder.texts() == [str(i) for i in range(10)]


def test_a_milestone_is_delivered_at_once_and_brings_the_events_before_it():
    seen: list[object] = []
    bus = EventBus()
    bus.subscribe(seen.append, name="recorder", lossless=True, latency_s=60)
    bus.publish(log_event(0))  # not a milestone: it waits for one (or a minute here)
    bus.publish(RunFinished(run_id="r1", status=RunStatus.PASSED))
    wait_until(lambda: len(seen) == 2, timeout=10)
    assert [type(event) for event in seen] == [Log, RunFinished]
    bus.close()


def test_close_delivers_events_that_wait_for_their_latency():
    seen: list[object] = []
    bus = EventBus()
    bus.subscribe(seen.append, name="view", latency_s=60)
    for i in range(3):
        bus.publish(log_event(i))
    bus.close(timeout=10)
    assert [event.text for event in seen] == ["0", "1", "2"]


def test_an_event_alone_reaches_its_subscriber_within_the_latency():
    seen: list[object] = []
    bus = EventBus()
    bus.subscribe(seen.append, name="view", latency_s=0.05)
    bus.publish(log_event(0))  # no milestone follows: the thread's look at its queue finds it
    wait_until(lambda: len(seen) == 1, timeout=10)
    bus.close()
