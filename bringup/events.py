"""Run events and the in-process bus that carries them.

Events are the only output of a run. Each is a frozen, slotted dataclass that carries the run
id and a wall-clock timestamp (``ts``, seconds since the Unix epoch, UTC) so that every
subscriber -- the recorder, the live TUI, a progress bar -- sees the same facts.

The bus policy (every subscriber has a bounded queue and its own delivery thread):

* **Lossy** subscribers (screens, progress views): when the queue is full the event is dropped
  and the subscriber later receives a :class:`Dropped` notice with the count, at the place in
  the stream where the gap is. ``publish`` never waits for them.
* **Lossless** subscribers (the recorder): ``publish`` waits for room -- back-pressure -- but
  for at most the subscription's ``full_timeout_s``. When the queue stays full that long, the
  subscription is *overflowed*: its ``on_overflow`` callback is called once (the API wires it
  to fault the run, which then powers down) and, from then on, ``publish`` never waits for it
  again: the event that could not enter the queue goes to an unbounded spill list, and every
  later one goes behind it without waiting (into the spill while it holds anything, else into
  the queue if there is room). The delivery thread drains the queue, then the spill, in order.
  Nothing is dropped; the cost is memory while the subscriber is stuck, and the run is ending.
* **Rail samples are thinned** for a lossless subscriber: a :data:`THINNABLE` event that finds
  its queue full (or events spilled) is dropped (counted in ``dropped_total``) instead of
  waiting or spilling, so the rail monitor never stalls on a slow database. A subscriber that
  has taken no event for ``full_timeout_s`` while samples find its queue full is overflowed
  too, so a stall is noticed even while the run publishes nothing else (a long wait step).

Delivery is batched: a subscriber's thread takes everything queued at once, and is woken at
once only when its queue holds :data:`WAKE_BATCH` events or is full, or to stop; for a
*milestone* (:data:`MILESTONES`: a run's start, each step's verdict, its end) at once, or at
most ``group_s`` (:data:`DEFAULT_GROUP_S`) after its last delivery while events stream in; any
other event waits for the next of those, at most ``latency_s`` (:data:`DEFAULT_LATENCY_S`). A
run publishes several events per step, and waking a thread for each was a GIL hand-off that
delayed the step loop's instrument I/O; the queue's bound and the policies above are unchanged.

Whatever powers the chip down publishes nothing before the outputs are off (bringup/power.py),
so a stuck subscriber can delay a record, never a power-down.
"""

from __future__ import annotations

import collections
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

log = logging.getLogger(__name__)


def new_run_id() -> str:
    """A fresh run id: 32 hex characters, unique across stations sharing one database."""
    return uuid.uuid4().hex


class RunStatus(StrEnum):
    """How a run ended (``RUNNING`` only while it is in progress)."""

    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"
    ERROR = "error"
    INTERRUPTED = "interrupted"


class StepStatus(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    ABORTED = "aborted"


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditions:
    """The operating point a result was taken at; ``None`` where it was not controlled."""

    vdd_core_v: float | None = None
    core_mhz: float | None = None
    temperature_c: float | None = None


NO_CONDITIONS = Conditions()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEvent:
    """Base of every run event."""

    run_id: str
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentInfo:
    role: str
    driver: str
    resource: str
    idn: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(RunEvent):
    """A run began, or a dead run was resumed (``resumed=True``, same ``run_id``)."""

    chip_serial: str
    station_name: str
    runbook_name: str
    runbook_hash: str
    runbook_text: str = ""
    operator: str = ""
    software_version: str = ""
    lot: str | None = None
    wafer: int | None = None
    die_x: int | None = None
    die_y: int | None = None
    instruments: tuple[InstrumentInfo, ...] = ()
    resumed: bool = False
    host: str = field(default_factory=socket.gethostname)  # who records it: a dead run on this
    pid: int = field(default_factory=os.getpid)  # host is recognised at once by its pid


@dataclass(frozen=True, slots=True, kw_only=True)
class StepStarted(RunEvent):
    index: int
    name: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFinished(RunEvent):
    index: int
    status: StepStatus
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement(RunEvent):
    """One limit-checked value. ``passed`` is None when no limit applies."""

    step_index: int
    name: str
    value: float
    units: str = ""
    low: float | None = None
    high: float | None = None
    passed: bool | None = None
    conditions: Conditions = NO_CONDITIONS


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorResult(RunEvent):
    """One execution of a validation vector compared against its golden signature.

    ``expected``/``actual`` are the 32-bit signature words; ``first_mismatch_addr`` is the
    address of the first differing word (None when they match); ``flipped_bits`` is the OR over
    all words of ``expected ^ actual`` -- which bit positions failed anywhere (0 when passed).
    ``repeat`` numbers the executions of this vector within the step (a sweep gives each point
    its own), so (run, step_index, content_hash, repeat) names one execution: the key that the
    database records exactly once and that a resume skips. ``golden_key`` is the
    `bringup.vectors.golden.golden_key` the expected words were computed under ("" when
    unknown): the recorder shares the golden with other stations by it.
    """

    step_index: int
    vector_name: str
    content_hash: str
    passed: bool
    expected: tuple[int, ...]
    actual: tuple[int, ...]
    first_mismatch_addr: int | None = None
    flipped_bits: int = 0
    repeat: int = 0
    conditions: Conditions = NO_CONDITIONS
    duration_s: float = 0.0
    golden_key: str = ""


class SweepOutcome(StrEnum):
    """What one point of a shmoo or Vmin sweep showed."""

    PASS = "pass"
    FAIL = "fail"  # ran to the end with a wrong signature
    HANG = "hang"  # the chip stopped answering; it was recovered before the next point
    INFERRED = "inferred"  # not run: decided from measured neighbours (monotone boundary)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepPoint(RunEvent):
    """One point of a sweep step, measured or inferred, at its conditions.

    ``done``/``total`` let a live view draw progress; ``confirmed`` marks a boundary point that
    was repeated before it was believed.
    """

    step_index: int
    conditions: Conditions
    outcome: SweepOutcome
    confirmed: bool = False
    vectors_passed: int = 0
    vectors_run: int = 0
    done: int = 0
    total: int = 0
    die_c: float | None = None  # the die as read at the point (its set point is in conditions)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThermalSample(RunEvent):
    """The thermal forcer and the die, as read while the run controls temperature."""

    setpoint_c: float | None
    forcer_c: float | None
    die_c: float | None = None
    at_temperature: bool = False
    head: str = ""  # "down", "up" or "" where the forcer does not say


@dataclass(frozen=True, slots=True, kw_only=True)
class RailSample(RunEvent):
    rail: str
    volts: float
    amps: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleLine(RunEvent):
    """A line seen on (``direction="rx"``) or sent to (``"tx"``) the chip's UART."""

    text: str
    direction: str = "rx"


@dataclass(frozen=True, slots=True, kw_only=True)
class Log(RunEvent):
    text: str
    level: str = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(RunEvent):
    status: RunStatus
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dropped:
    """Told to a lossy subscriber in place of ``count`` events its full queue could not take."""

    count: int
    ts: float = field(default_factory=time.time)


Event = RunEvent | Dropped
# Events a lossless subscriber may miss rather than slow the publisher: the rail monitor's.
THINNABLE = (RailSample,)
Handler = Callable[[Event], None]


class BusClosedError(RuntimeError):
    """Raised by publish/subscribe after EventBus.close()."""


_STOP = object()
_WAKE = object()  # tells the delivery thread to look at the spill list
DEFAULT_FULL_TIMEOUT_S = 5.0
# Events a subscriber is woken for at once; the others ride along or wait <= latency_s.
MILESTONES = (RunStarted, StepFinished, RunFinished)
DEFAULT_LATENCY_S = 0.05
DEFAULT_GROUP_S = 0.005
WAKE_BATCH = 256  # a queue holding this many events wakes its subscriber
ROOM_FOR_A_BATCH_S = 0.05  # a publisher waits this long for room for a batch, then for any room


class _DeliveryQueue:
    """The bounded FIFO between publishers and one delivery thread, handed over in batches.

    ``queue.Queue`` wakes its consumer for every event; a run publishes several per step, and
    each wake-up is a GIL hand-off that delays the step loop's instrument I/O (measured: 12
    context switches a step). Here the delivery thread takes everything queued at once, and a
    put wakes it only when something is due:

    - at once, for a control marker, a queue holding ``WAKE_BATCH`` items, or a full queue (a
      publisher about to wait or drop) -- *urgent*;
    - for a milestone, at once if the thread delivered nothing in the last ``group_s``, else at
      the end of that window (group commit: a run's step verdicts are handed over at most
      ``group_s`` late, a few per wake-up when steps are fast);
    - for any other event, with the next of those, or at the thread's look at its queue, at
      most ``latency_s`` later.

    The batch in the thread's hands counts against ``maxsize`` until each item goes to the
    handler, so the bound is what it was: ``maxsize`` events waiting plus the one delivered.
    Publishers waiting for room are woken as every ``WAKE_BATCH`` items go out, not for each
    (after ``ROOM_FOR_A_BATCH_S``, for each: a slow subscriber's progress still counts, so the
    back-pressure timeout still means "no room at all for that long").
    """

    def __init__(self, maxsize: int, latency_s: float, group_s: float) -> None:
        self.maxsize = maxsize
        self._latency_s = latency_s
        self._group_s = group_s
        self._wake_batch = min(WAKE_BATCH, maxsize)
        self._items: collections.deque[object] = collections.deque()
        # Taken by the delivery thread, not yet handed to the handler. Only that thread writes
        # it; publishers read it under the lock (a stale value only shows less room).
        self._in_hand = 0
        lock = threading.Lock()
        self._ready = threading.Condition(lock)  # the delivery thread sleeps here
        self._room = threading.Condition(lock)  # lossless publishers wait here
        self._due = False  # a milestone waits
        self._urgent = False  # a marker, a big batch or a full queue waits
        self._listening_for_due = False  # the thread sleeps and a milestone should wake it
        self._listening = False  # the thread sleeps
        self._room_waiters = 0
        self._room_eager = 0  # publishers waiting for any room at all: wake them per item

    def _full(self) -> bool:
        return len(self._items) + self._in_hand >= self.maxsize

    def _batch_fits(self) -> bool:
        return len(self._items) + self._in_hand <= self.maxsize - self._wake_batch

    def put_nowait(self, item: object) -> bool:
        with self._ready:
            if self._full():
                self._wake_urgent()  # full: the subscriber must drain now
                return False
            self._append(item)
        return True

    def put(self, item: object, timeout: float) -> bool:
        """Wait at most ``timeout`` s for room; False if none came."""
        with self._ready:
            if self._full() and not self._wait_for_room(timeout):
                return False
            self._append(item)
        return True

    def _wait_for_room(self, timeout: float) -> bool:
        """(Lock held) First for room for a batch, briefly (so a fast subscriber wakes us once
        per batch, not per event), then for any room, woken as each item goes out."""
        self._wake_urgent()
        deadline = time.monotonic() + timeout
        self._room_waiters += 1  # counted before any look at the room: no wake-up is missed
        try:
            if self._room.wait_for(self._batch_fits, min(timeout, ROOM_FOR_A_BATCH_S)):
                return True
            self._room_eager += 1
            try:
                return self._room.wait_for(lambda: not self._full(),
                                           max(0.0, deadline - time.monotonic()))
            finally:
                self._room_eager -= 1
        finally:
            self._room_waiters -= 1

    def _append(self, item: object) -> None:
        self._items.append(item)
        if item is _STOP or item is _WAKE or len(self._items) == self._wake_batch:
            self._wake_urgent()
        elif type(item) in MILESTONES and not self._due:
            self._due = True
            if self._listening_for_due:
                self._ready.notify()

    def _wake_urgent(self) -> None:
        if not self._urgent:
            self._urgent = True
            if self._listening:
                self._ready.notify()

    def handing_over(self) -> None:
        """The delivery thread hands the next item of its batch to the handler."""
        self._in_hand -= 1
        if self._room_waiters and (self._room_eager or self._in_hand % self._wake_batch == 0):
            with self._ready:  # (a publisher that began to wait just now is woken by take())
                self._room.notify_all()

    def take(self, wait: bool, delivered: bool) -> collections.deque[object]:
        """Everything queued (the last batch, ``delivered`` or empty, is handed over by now).
        With ``wait``, sleep first while nothing is due (see the class); may be empty."""
        with self._ready:
            self._in_hand = 0
            if self._room_waiters:
                self._room.notify_all()
            if wait:
                self._sleep(delivered)
            self._due = self._urgent = False
            items, self._items = self._items, collections.deque()
            self._in_hand = len(items)
            return items

    def _sleep(self, delivered: bool) -> None:
        self._listening = True
        try:
            if delivered and self._group_s > 0:  # the group window: only urgent things wake us
                deadline = time.monotonic() + self._group_s
                while not self._urgent:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
            if not (self._due or self._urgent):
                self._listening_for_due = True
                self._ready.wait(self._latency_s)
        finally:
            self._listening = self._listening_for_due = False


class Subscription:
    """One subscriber: its bounded queue, its delivery thread and its drop/overflow accounting."""

    def __init__(self, handler: Handler, name: str, maxsize: int, lossless: bool,
                 full_timeout_s: float = DEFAULT_FULL_TIMEOUT_S,
                 on_overflow: Callable[[str], None] | None = None,
                 latency_s: float = DEFAULT_LATENCY_S, group_s: float = DEFAULT_GROUP_S) -> None:
        self.handler = handler
        self.name = name
        self.lossless = lossless
        self.full_timeout_s = full_timeout_s
        self.on_overflow = on_overflow
        self.dropped_total = 0
        self.overflowed = False
        self._queue = _DeliveryQueue(maxsize, latency_s, group_s)
        self._spill: collections.deque[object] = collections.deque()
        self._unreported_drops = 0
        self._last_progress = time.monotonic()  # when the subscriber last took an event
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._deliver, name=f"bus-{name}", daemon=True)
        self._thread.start()

    def offer(self, event: RunEvent) -> None:
        if self.lossless:
            self._offer_lossless(event)
            return
        with self._lock:
            # A pending drop count goes in first so the notice lands where the gap is.
            if self._unreported_drops and not self._try_put(Dropped(count=self._unreported_drops)):
                self._count_drop()
                return
            self._unreported_drops = 0
            if not self._try_put(event):
                self._count_drop()

    def _offer_lossless(self, item: object) -> None:
        if isinstance(item, THINNABLE):
            if self._spill or not self._try_put(item):
                self.dropped_total += 1  # a rail sample is thinned rather than waited for
                if time.monotonic() - self._last_progress > self.full_timeout_s:
                    self._overflow()  # stuck even while the run publishes nothing else
            return
        if self._spill:  # events wait in the spill: later ones queue behind them, in order
            with self._lock:
                self._spill_item(item)
            return
        if self.overflowed:
            if not self._try_put(item):
                with self._lock:
                    self._spill_item(item)
            return
        if not self._queue.put(item, timeout=self.full_timeout_s):  # back-pressure, bounded
            with self._lock:
                self._spill_item(item)
            self._overflow()

    def _spill_item(self, item: object) -> None:
        self._spill.append(item)
        self._try_put(_WAKE)  # a delivery thread asleep on an empty queue looks at the spill

    def _overflow(self) -> None:
        if self.overflowed:
            return
        self.overflowed = True
        why = (f"subscriber {self.name!r} took no event for {self.full_timeout_s:g} s "
               f"({self._queue.maxsize} queued)")
        log.error("event bus: %s; later events wait in memory", why)
        if self.on_overflow is not None:
            try:
                self.on_overflow(why)
            except Exception:
                log.exception("overflow callback of subscriber %r failed", self.name)

    def _try_put(self, item: object) -> bool:
        return self._queue.put_nowait(item)

    def _count_drop(self) -> None:
        self._unreported_drops += 1
        self.dropped_total += 1

    def stop(self, timeout: float | None) -> None:
        """Deliver everything queued (and a final drop notice), then end the thread.

        Never waits longer than `timeout` for room in the queue: the stop marker goes behind
        whatever is queued or spilled, and the thread is joined for at most `timeout`.
        """
        with self._lock:
            if self._unreported_drops:
                self._spill_or_put(Dropped(count=self._unreported_drops))
                self._unreported_drops = 0
            self._spill_or_put(_STOP)
        self._thread.join(timeout)

    def _spill_or_put(self, item: object) -> None:
        if self._spill or not self._try_put(item):
            self._spill_item(item)

    def _next_batch(self, delivered: bool) -> tuple[collections.deque[object], bool]:
        """The queue first, then the spill (which holds only later events); may be empty.
        True with a batch from the queue (its items are handed over one by one)."""
        batch = self._queue.take(wait=not self._spill, delivered=delivered)
        if batch:
            return batch, True
        with self._lock:
            batch, self._spill = self._spill, collections.deque()
        return batch, False

    def _deliver(self) -> None:
        handler = self.handler
        delivered = False
        while True:
            batch, queued = self._next_batch(delivered)
            delivered = bool(batch)
            for item in batch:
                if queued:
                    self._queue.handing_over()
                if item is _WAKE:
                    continue
                if item is _STOP:
                    return
                try:
                    handler(item)  # type: ignore[arg-type]
                except Exception:
                    # One faulty subscriber must not stop the run or the other subscribers.
                    log.exception("event subscriber %r failed on %r", self.name, item)
                self._last_progress = time.monotonic()


class EventBus:
    """Fan-out of run events to subscribers, each on its own delivery thread."""

    def __init__(self) -> None:
        self._subscriptions: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()
        self._closed = False

    def subscribe(
        self, handler: Handler, *, name: str = "", maxsize: int = 10_000, lossless: bool = False,
        full_timeout_s: float = DEFAULT_FULL_TIMEOUT_S, on_overflow: Callable[[str], None] | None = None,
        latency_s: float = DEFAULT_LATENCY_S, group_s: float = DEFAULT_GROUP_S,
    ) -> Subscription:
        """Deliver every later event to ``handler`` on a dedicated thread.

        A lossy subscriber whose queue (``maxsize`` events) is full misses events and is told
        with a :class:`Dropped` notice; a ``lossless`` one makes ``publish`` wait instead, for
        at most ``full_timeout_s``, then calls ``on_overflow`` (see the module's bus policy).
        Milestones reach ``handler`` at most ``group_s`` after ``publish`` (plus the time to
        deliver what is ahead of them), other events at most ``latency_s``.
        """
        if maxsize <= 0:
            raise ValueError(f"subscriber {name!r}: maxsize must be positive, got {maxsize}")
        with self._lock:
            if self._closed:
                raise BusClosedError("cannot subscribe: the event bus is closed")
            sub = Subscription(
                handler, name or getattr(handler, "__qualname__", "subscriber"), maxsize, lossless,
                full_timeout_s, on_overflow, latency_s, group_s,
            )
            self._subscriptions = (*self._subscriptions, sub)
        return sub

    def unsubscribe(self, sub: Subscription, timeout: float | None = 5.0) -> None:
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not sub)
        sub.stop(timeout)

    def publish(self, event: RunEvent) -> None:
        if self._closed:
            raise BusClosedError(f"cannot publish {type(event).__name__}: the event bus is closed")
        for sub in self._subscriptions:  # a tuple snapshot: no lock held while we may wait
            sub.offer(event)

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop accepting events, deliver what is queued, and stop the delivery threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subs, self._subscriptions = self._subscriptions, ()
        for sub in subs:
            sub.stop(timeout)

    def __enter__(self) -> EventBus:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
