"""The PowerController: the one place that changes a rail, inside the station's hard limits.

Rules it keeps (DESIGN.md, safety rules 1-4):
- nothing is ever commanded above a rail's absolute maximum or current limit; over-voltage and
  over-current protection are programmed before an output is enabled;
- rails come up in the station's order, in whole ramp steps no larger than `ramp_step_v` and no
  faster than `ramp_rate_v_per_s`, each verified by readback before the next; any failure takes
  every rail down in reverse order;
- the reference clock runs only while every rail of the station is up, and goes off first;
- while powered, a monitor samples every rail (default 10 Hz), publishes `RailSample`s and trips
  to a safe power-down on over-current, a tripped protection, a collapsed rail, or a supply that
  stops answering. It reports first (so the run stops at once), then powers down.

The state machine (docs/power-state-machine.md)::

    OFF ──power_on──► RAMPING ──all wanted rails verified──► POWERED
     ▲                  │  ▲                                   │
     └──── safe_off ────┘  └────────────── set_rail ───────────┘
    any state ──halt(trip)──► TRIPPED     any state ──halt(abort)──► ABORTED

TRIPPED and ABORTED are latches: they hold until the run is over (a new run builds a new
controller), and every later `power_on`/`set_rail` is refused with `PowerHalted`. One function,
`_transition`, knows the legal moves.

Why an abort is at once: no lock is held across a power-on. Ramps wait on the `_halt` event (not
`time.sleep`), so an abort wakes them; every command that raises power is sent under `_gate`
(held for one SCPI command at a time) after checking the latch. `halt` sets the latch first,
then takes `_gate` — waiting for at most the one command in flight — and switches off: the clock,
then the rails in reverse order. Nothing on that path publishes an event before the outputs are
off, and the monitor publishes its samples outside every lock.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bringup.events import Log, RailSample, RunEvent
from bringup.messages import attempt, first_line

if TYPE_CHECKING:
    from bringup.station import BoundRail, ClockSpec

# A rail reading below this fraction of its set point while powered has collapsed (the supply
# went into current limit, a short, a tripped output).
COLLAPSE_FRACTION = 0.8
# Current at or above this fraction of the limit is an over-current: the supply is about to
# regulate at the limit, which is never a healthy operating point for a chip.
OVER_CURRENT_FRACTION = 0.98
READBACK_SETTLE_S = 0.5
READBACK_POLL_S = 0.01
# How long a power-down keeps retrying a supply that does not answer before reporting it.
SAFE_OFF_RETRY_S = 5.0
# More ramp steps than this is not a physical ramp (a supply resolves ~1 mV): refused.
MAX_RAMP_STEPS = 10_000
# What an output switched off under a running run (no protection tripped) reads as.
SWITCHED_OFF_EXTERNALLY = "outputs switched off externally (estop?)"


class PowerState(StrEnum):
    OFF = "off"
    RAMPING = "ramping"
    POWERED = "powered"
    TRIPPED = "tripped"
    ABORTED = "aborted"


LATCHED = frozenset({PowerState.TRIPPED, PowerState.ABORTED})
_HALTS = LATCHED
# The legal moves; a latch goes nowhere until the controller (the run) is over.
TRANSITIONS: dict[PowerState, frozenset[PowerState]] = {
    PowerState.OFF: frozenset({PowerState.OFF, PowerState.RAMPING}) | _HALTS,
    PowerState.RAMPING: frozenset({PowerState.POWERED, PowerState.OFF}) | _HALTS,
    PowerState.POWERED: frozenset({PowerState.RAMPING, PowerState.OFF}) | _HALTS,
    PowerState.TRIPPED: frozenset(),
    PowerState.ABORTED: frozenset(),
}


class PowerFault(Exception):
    """The power controller refused a request or took the chip down; `rail` says where."""

    def __init__(self, rail: str | None, message: str) -> None:
        self.rail = rail
        super().__init__(f"{rail}: {message}" if rail else message)


class LimitViolation(PowerFault):
    """A request above a rail's absolute maximum or current limit; nothing was sent."""


class PowerTrip(PowerFault):
    """The monitor or a verification found a rail in trouble and powered everything down."""


class PowerHalted(PowerFault):
    """The controller is latched (tripped, aborted) or the run is over: nothing more is powered."""


class ProtectionLatched(PowerFault):
    """A channel's OVP/OCP is still tripped from before: the run refuses to start."""


class PowerController:
    def __init__(
        self,
        rails: dict[str, BoundRail],
        order: Iterable[str],
        *,
        clock: tuple[Any, ClockSpec] | None = None,
        emit: Callable[[RunEvent], None] | None = None,
        on_trip: Callable[[str], None] | None = None,
        on_switched_off: Callable[[str], None] | None = None,
        run_id: str = "",
        monitor_hz: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rails = rails
        self.order = list(order)
        self._clock = clock
        self._emit = emit or (lambda event: None)
        self._on_trip = on_trip or (lambda reason: None)
        # An output switched off under the run by someone else: an estop, not a chip fault.
        self._on_switched_off = on_switched_off or self._on_trip
        self._run_id = run_id
        self._period = 1.0 / monitor_hz
        self._sleep = sleep
        self._state = PowerState.OFF
        # Re-entrant, all three: an abort from a signal handler runs on whichever thread the
        # signal lands on, possibly one that is inside a ramp command; it must not deadlock.
        self._state_lock = threading.RLock()  # held only to read or move the state
        self._gate = threading.RLock()  # held for one power-raising command at a time
        self._down_lock = threading.RLock()  # one power-down at a time; never held by a ramp
        self._halt = threading.Event()  # set by a latch or the end of the run: ramps wake on it
        self._closed = False
        self._halt_failures: list[str] | None = None
        self._unreported: list[tuple[str, list[str]]] = []
        self._setpoint: dict[str, float] = {}
        self._clock_running = False
        self._monitor: threading.Thread | None = None
        self._monitor_stop = threading.Event()
        self.tripped = threading.Event()
        self.trip_reason: str | None = None
        self.halt_reason: str | None = None

    # ------------------------------------------------------------------------- the state
    @property
    def state(self) -> PowerState:
        return self._state

    @property
    def latched(self) -> bool:
        return self._state in LATCHED

    def _transition(self, target: PowerState) -> None:
        """The one place the state moves; refuses what the table does not allow."""
        with self._state_lock:
            self._transition_locked(target)

    def _transition_locked(self, target: PowerState) -> None:
        if self._state in LATCHED and target in LATCHED:
            return  # the first latch wins: a trip stays a trip when an abort follows
        if self._closed and target is PowerState.RAMPING:
            raise PowerHalted(None, "refused: the run is over, nothing more is powered")
        if target not in TRANSITIONS[self._state]:
            if self._state in LATCHED:
                raise PowerHalted(None, f"refused: the power controller is {self._state} "
                                  f"({self.halt_reason}); nothing is powered until the run is over")
            raise RuntimeError(f"power state {self._state} -> {target} is not a legal move")
        self._state = target

    def _check_go(self) -> None:
        """Raise if a latch or the end of the run forbids raising power; called under `_gate`."""
        if self._halt.is_set():
            raise PowerHalted(None, f"refused: {self.halt_reason or 'the run is over'}")

    def _wait(self, seconds: float) -> None:
        """A wait inside a ramp or a readback: wakes at once on a halt."""
        if self._halt.wait(seconds):
            self._check_go()

    # ----------------------------------------------------------------- power on / set / off
    @property
    def powered(self) -> list[str]:
        return [name for name in self.order if name in self._setpoint]

    @property
    def all_rails_up(self) -> bool:
        return bool(self.order) and all(name in self._setpoint for name in self.order)

    @property
    def clock_running(self) -> bool:
        """True while the chip is fully powered and clocked (or the station has no clock)."""
        return self.all_rails_up and (self._clock is None or self._clock_running)

    def refuse_latched_protection(self) -> None:
        """Before a run enables anything: a channel whose OVP/OCP is still tripped refuses it."""
        for name in self.order:
            rail = self.rails[name]
            tripped = rail.channel.protection_tripped()
            if tripped:
                raise ProtectionLatched(name, f"{tripped} is latched on {rail.spec.supply} channel "
                                        f"{rail.spec.channel} from an earlier trip — find the cause, then "
                                        "clear it with `bringup instruments clear --station <file>`")

    def power_on(self, rails: Iterable[str] | None = None) -> None:
        """Bring `rails` (default: all) up in station order; the reference clock only once every
        rail of the station is up."""
        wanted = set(rails) if rails is not None else set(self.order)
        for name in wanted:
            self._rail(name)
        self._refuse_out_of_order(wanted)
        self._transition(PowerState.RAMPING)
        try:
            for name in self.order:
                if name in wanted and name not in self._setpoint:
                    self._bring_up(name)
            if self.all_rails_up:
                self._clock_on()
                # A clocked chip draws its real current: every rail must still hold.
                for name in self.powered:
                    self._verify(self.rails[name], self._setpoint[name])
            self._transition(PowerState.POWERED)
        except BaseException as exc:
            self.safe_off(f"power-on failed: {first_line(exc)}")
            raise
        self.start_monitor()

    def set_rail(self, name: str, volts: float) -> None:
        """Ramp a powered rail to `volts` within its limits, verifying the readback."""
        rail = self._rail(name)
        self._refuse_above_limits(rail, volts)
        if name not in self._setpoint:
            self._check_go()
            raise PowerFault(name, "is not powered — add a power_on step before set_rail")
        self._transition(PowerState.RAMPING)
        try:
            self._ramp(rail, volts)
            self._verify(rail, volts)
            self._transition(PowerState.POWERED)
        except BaseException as exc:
            self.safe_off(f"set_rail {name} {volts} V failed: {first_line(exc)}")
            raise

    def setpoint(self, name: str) -> float | None:
        return self._setpoint.get(name)

    def halt(self, reason: str, state: PowerState = PowerState.ABORTED) -> list[str]:
        """Abort or trip: latch first (every ramp wakes and stops), then power down at once.

        Never waits for a power-on to finish, never publishes before the outputs are off.
        Idempotent: the first latch wins; later calls wait for that power-down and return it.
        """
        if state not in LATCHED:
            raise ValueError(f"halt needs a latching state, not {state}")
        with self._state_lock:
            if self._state not in LATCHED:
                self.halt_reason = reason
            self._transition_locked(state)
            self._halt.set()
        self._monitor_stop.set()
        # Whoever called (a key press, a signal handler, the monitor) returns as soon as the
        # outputs are off: what there is to say is published later by the run's own thread.
        return self.safe_off(f"{self._state}: {self.halt_reason}", report=False)

    def safe_off(self, reason: str = "power-down", *, retry_s: float | None = None,
                 report: bool = True) -> list[str]:
        """Clock off, then every rail off in reverse order; never raises. Returns what failed.

        A rail whose supply does not answer is retried (the driver reconnects) until `retry_s`
        has passed; what is still on after that is reported, never silently assumed off. After
        a latch has powered down, nothing can be powered again, so later calls return its result.
        """
        self._monitor_stop.set()
        with self._down_lock:
            if self.latched and self._halt_failures is not None:
                failures = list(self._halt_failures)
            else:
                failures = self._switch_everything_off(retry_s)
                if self.latched:
                    self._halt_failures = failures
                elif self._state is not PowerState.OFF:
                    self._transition(PowerState.OFF)
                self._unreported.append((reason, failures))
        if report:
            self.report_power_downs()
        return failures

    def report_power_downs(self) -> None:
        """Publish what the power-downs so far did (only now, with the outputs off, so a
        stalled bus never delays one)."""
        while True:
            try:
                reason, failures = self._unreported.pop(0)
            except IndexError:  # nothing (more) to say, or another thread said it
                return
            if failures:
                self._emit_log(f"powered down ({reason}); NOT OFF: {'; '.join(failures)}", "error")
            else:
                self._emit_log(f"powered down ({reason})")
            self._final_readback(skip={f.split(" ", 1)[0] for f in failures})

    def _switch_everything_off(self, retry_s: float | None) -> list[str]:
        # Waits for at most the one power-raising command in flight; after that none can start
        # (a latch is checked under the gate; a plain power-down runs on the ramping thread).
        with self._gate:
            switches = self._off_switches()
            deadline = time.monotonic() + (SAFE_OFF_RETRY_S if retry_s is None else retry_s)
            while True:
                errors = {what: error for what, switch in switches.items() if (error := attempt(switch))}
                switches = {what: switches[what] for what in errors}
                if not switches or time.monotonic() >= deadline:
                    break
                self._sleep(0.2)
            self._setpoint.clear()
            self._clock_running = False
        failures = [f"{what} off: {error}" for what, error in errors.items()]
        if failures:
            failures += self._all_off_fallback()
        return failures

    def _final_readback(self, skip: set[str]) -> None:
        """One last sample of every rail switched off, so the record shows what they read then."""
        for name in self.order:
            if name in skip:  # its supply did not answer; it is reported as not off
                continue
            channel = self.rails[name].channel
            try:
                volts, amps = channel.measure_voltage(), channel.measure_current()
            except Exception:
                continue
            self._emit(RailSample(run_id=self._run_id, rail=name, volts=volts, amps=amps))

    def _off_switches(self) -> dict[str, Callable[[], None]]:
        """What to switch off, in order: the clock first (never clock an unpowered chip), then
        the rails in reverse power-on order."""
        switches: dict[str, Callable[[], None]] = {}
        if self._clock is not None:
            source = self._clock[0]
            switches["clock"] = lambda: source.set_output(False)
        for name in reversed(self.order):
            channel = self.rails[name].channel
            switches[name] = lambda channel=channel: channel.set_output(False)
        return switches

    def _all_off_fallback(self) -> list[str]:
        """A channel that would not turn off: ask its whole supply to turn everything off."""
        supplies = {rail.spec.supply: rail.supply for rail in self.rails.values()}
        errors = {name: attempt(supply.all_off) for name, supply in supplies.items()}
        return [f"{name} all off: {error}" for name, error in errors.items() if error]

    # ----------------------------------------------------------------------------- rails
    def _rail(self, name: str) -> BoundRail:
        try:
            return self.rails[name]
        except KeyError:
            raise PowerFault(name, f"no such rail; the station has {', '.join(self.rails)}") from None

    def _refuse_out_of_order(self, wanted: set[str]) -> None:
        """A rail may come up only after every rail before it in the station's order."""
        for index, name in enumerate(self.order):
            if name not in wanted:
                continue
            missing = [r for r in self.order[:index] if r not in wanted and r not in self._setpoint]
            if missing:
                raise LimitViolation(name, f"refused: {', '.join(missing)} must be up first "
                                     f"(station power-on order {' -> '.join(self.order)})")

    @staticmethod
    def _refuse_above_limits(rail: BoundRail, volts: float) -> None:
        if volts > rail.spec.abs_max_v:
            raise LimitViolation(rail.name, f"{volts} V refused: above the absolute maximum "
                                 f"{rail.spec.abs_max_v} V in the station file")
        if volts < 0:
            raise LimitViolation(rail.name, f"{volts} V refused: negative")

    def _bring_up(self, name: str) -> None:
        rail = self._rail(name)
        spec = rail.spec
        self._refuse_above_limits(rail, spec.nominal_v)
        self._levels(rail, 0.0, spec.nominal_v)  # a ramp that cannot be done is refused before it starts
        channel = rail.channel
        # Everything that limits the output is programmed while it is still off.
        channel.set_output(False)
        channel.set_voltage(0.0)
        channel.set_current_limit(spec.current_limit_a)
        channel.set_over_voltage_protection(spec.abs_max_v)
        channel.set_over_current_protection(True)
        self._raise_power(lambda: channel.set_output(True), channel)
        self._setpoint[name] = 0.0
        self._ramp(rail, spec.nominal_v)
        self._verify(rail, spec.nominal_v)

    def _ramp(self, rail: BoundRail, target: float) -> None:
        """Whole steps of at most ramp_step_v, no faster than the ramp rate; the last lands on
        `target` exactly. Each step checks the latch, and the wait between steps wakes on it."""
        spec = rail.spec
        previous = self._setpoint.get(rail.name)
        if previous is None:  # a trip or an abort on another thread powered it down meanwhile
            self._check_go()
            raise PowerFault(rail.name, "was powered down before its ramp could start")
        for level in self._levels(rail, previous, target):
            self._raise_power(lambda level=level: rail.channel.set_voltage(level), rail.channel)
            self._setpoint[rail.name] = level
            self._wait(abs(level - previous) / spec.ramp_rate_v_per_s)
            previous = level

    def _raise_power(self, command: Callable[[], None], output: Any) -> None:
        """Send one command that puts power on the chip, unless a latch forbids it. Should a halt
        run on this very thread meanwhile (a signal handler), the output is switched off again."""
        with self._gate:
            self._check_go()
            command()
            if self._halt.is_set():
                attempt(lambda: output.set_output(False))
                self._check_go()

    @staticmethod
    def _levels(rail: BoundRail, start: float, target: float) -> Iterator[float]:
        try:
            return ramp_levels(start, target, rail.spec.ramp_step_v)
        except LimitViolation as exc:
            raise LimitViolation(rail.name, str(exc)) from None

    def _verify(self, rail: BoundRail, target: float) -> None:
        """Wait (bounded) for the readback to settle within tolerance; a trip or collapse fails it."""
        deadline = time.monotonic() + READBACK_SETTLE_S
        while True:
            self._check_go()
            tripped = rail.channel.protection_tripped()
            if tripped:
                limit = rail.spec.current_limit_a
                raise PowerTrip(rail.name, f"{tripped} tripped holding {target} V (limit {limit} A)")
            volts = rail.channel.measure_voltage()
            if abs(volts - target) <= rail.spec.tolerance_v:
                return
            if time.monotonic() >= deadline:
                amps = rail.channel.measure_current()
                raise PowerTrip(rail.name, f"reads {volts:.4f} V ({amps:.3f} A), not {target} V "
                                f"± {rail.spec.tolerance_v} V")
            self._wait(READBACK_POLL_S)

    # ----------------------------------------------------------------------------- clock
    def _clock_on(self) -> None:
        if self._clock is None:
            return
        source, spec = self._clock
        source.set_output(False)
        source.set_frequency(spec.frequency_hz)
        source.set_amplitude(spec.amplitude_vpp)
        self._raise_power(lambda: source.set_output(True), source)
        self._clock_running = True

    # --------------------------------------------------------------------------- monitor
    def start_monitor(self) -> None:
        if self._monitor is not None and self._monitor.is_alive():
            return
        if self._halt.is_set():
            return
        self._monitor_stop.clear()
        self._monitor = threading.Thread(target=self._watch, name="rail-monitor", daemon=True)
        self._monitor.start()

    def stop_monitor(self) -> None:
        self._monitor_stop.set()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=5)

    def _watch(self) -> None:
        while not self._monitor_stop.wait(self._period):
            problem = self.sample_once()
            if problem:
                self._report_and_halt(problem)
                return

    def _report_and_halt(self, problem: str) -> None:
        """Note the trip, tell the run (it stops its steps at once), then power down."""
        switched_off = problem.startswith(SWITCHED_OFF_EXTERNALLY)
        if self._monitor_stop.is_set() and (switched_off or "collapsed" in problem):
            return  # our own power-down began while we read: the rails fall because we asked
        if not switched_off:
            self.trip_reason = problem
            self.tripped.set()
        (self._on_switched_off if switched_off else self._on_trip)(problem)
        self.halt(problem, PowerState.ABORTED if switched_off else PowerState.TRIPPED)

    def sample_once(self) -> str | None:
        """Read every powered rail once, publish samples; returns a trip reason or None.

        Holds no lock: a publish that waits on a slow subscriber never holds up a power-down.
        """
        samples: list[RailSample] = []
        problem = None
        for name in self.powered:
            rail = self.rails[name]
            try:
                problem = self._check_rail(rail, samples)
            except Exception as exc:
                problem = f"{name}: supply {rail.spec.supply} stopped answering ({first_line(exc)})"
            if problem:
                break
        for sample in samples:
            self._emit(sample)
        return problem

    def _check_rail(self, rail: BoundRail, samples: list[RailSample]) -> str | None:
        setpoint = self._setpoint.get(rail.name)
        volts = rail.channel.measure_voltage()
        amps = rail.channel.measure_current()
        samples.append(RailSample(run_id=self._run_id, rail=rail.name, volts=volts, amps=amps))
        if setpoint is None:  # powered down while we read it
            return None
        limit = rail.spec.current_limit_a
        if amps >= OVER_CURRENT_FRACTION * limit:
            return f"{rail.name}: over-current: {amps:.3f} A against a limit of {limit} A"
        tripped = rail.channel.protection_tripped()
        if tripped:
            return f"{rail.name}: {tripped} tripped on supply {rail.spec.supply}"
        if volts < COLLAPSE_FRACTION * setpoint:
            # Our own outputs are on while powered; one that reads OFF with no protection
            # tripped was switched off by someone else (estop, a front panel): not a chip fault.
            if not rail.channel.output_enabled() and self._setpoint.get(rail.name) is not None:
                return (f"{SWITCHED_OFF_EXTERNALLY}: {rail.name} output reads OFF with "
                        f"{setpoint:.4f} V set")
            return f"{rail.name}: collapsed: {volts:.4f} V with {setpoint:.4f} V set"
        return None

    def _emit_log(self, text: str, level: str = "info") -> None:
        self._emit(Log(run_id=self._run_id, text=text, level=level))

    def close(self) -> None:
        """The run is over: nothing more is powered by this controller."""
        with self._state_lock:
            self._closed = True
            self._halt.set()
        self.stop_monitor()


def ramp_levels(start: float, target: float, step_v: float) -> Iterator[float]:
    """The set points of a ramp: n = ceil(|Δ| / step) equal steps, the last exactly `target`.

    A ramp of more than MAX_RAMP_STEPS steps is refused before anything is sent: no supply
    resolves such steps, and tens of thousands of commands would hold the bus for minutes.
    """
    delta = target - start
    if delta == 0:
        return iter(())
    steps = max(1, math.ceil(abs(delta) / step_v - 1e-9))  # 1e-9: 0.3 / 0.1 is 3 steps, not 4
    if steps > MAX_RAMP_STEPS:
        raise LimitViolation(None, f"a ramp from {start:g} V to {target:g} V in steps of {step_v:g} V "
                             f"would take {steps} steps (at most {MAX_RAMP_STEPS}) — raise ramp_step_v "
                             "in the station file")
    return itertools.chain((start + delta * i / steps for i in range(1, steps)), (target,))
