"""The PowerController: the one place that changes a rail, inside the station's hard limits.

Rules it keeps (DESIGN.md, safety rules 1-3):
- nothing is ever commanded above a rail's absolute maximum or current limit; over-voltage and
  over-current protection are programmed before an output is enabled;
- rails come up in the station's order, in ramp steps no larger than `ramp_step_v` and no faster
  than `ramp_rate_v_per_s`, each verified by readback before the next; any failure takes every
  rail down in reverse order;
- while powered, a monitor samples every rail (default 10 Hz), publishes `RailSample`s and trips
  to a safe power-down on over-current, a tripped protection, a collapsed rail, or a supply that
  stops answering, recording which rail and why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bringup.events import RailSample, RunEvent
from bringup.messages import first_line

if TYPE_CHECKING:
    from bringup.station import BoundRail, ClockSpec

# A rail reading below this fraction of its set point while powered has collapsed (the supply
# went into current limit, a short, a tripped output).
COLLAPSE_FRACTION = 0.8
# Current at or above this fraction of the limit is an over-current: the supply is about to
# regulate at the limit, which is never a healthy operating point for a chip.
OVER_CURRENT_FRACTION = 0.98
READBACK_SETTLE_S = 0.5
# How long a power-down keeps retrying a supply that does not answer before reporting it.
SAFE_OFF_RETRY_S = 5.0


class PowerFault(Exception):
    """The power controller refused a request or took the chip down; `rail` says where."""

    def __init__(self, rail: str | None, message: str) -> None:
        self.rail = rail
        super().__init__(f"{rail}: {message}" if rail else message)


class LimitViolation(PowerFault):
    """A request above a rail's absolute maximum or current limit; nothing was sent."""


class PowerTrip(PowerFault):
    """The monitor or a verification found a rail in trouble and powered everything down."""


class PowerController:
    def __init__(
        self,
        rails: dict[str, BoundRail],
        order: Iterable[str],
        *,
        clock: tuple[Any, ClockSpec] | None = None,
        emit: Callable[[RunEvent], None] | None = None,
        on_trip: Callable[[str], None] | None = None,
        run_id: str = "",
        monitor_hz: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rails = rails
        self.order = list(order)
        self._clock = clock
        self._emit = emit or (lambda event: None)
        self._on_trip = on_trip or (lambda reason: None)
        self._run_id = run_id
        self._period = 1.0 / monitor_hz
        self._sleep = sleep
        self._lock = threading.RLock()
        self._setpoint: dict[str, float] = {}
        self._monitor: threading.Thread | None = None
        self._monitor_stop = threading.Event()
        self.tripped = threading.Event()
        self.trip_reason: str | None = None

    # ----------------------------------------------------------------- power on / set / off
    @property
    def powered(self) -> list[str]:
        return [name for name in self.order if name in self._setpoint]

    def power_on(self, rails: Iterable[str] | None = None) -> None:
        """Bring `rails` (default: all) up in station order, then the reference clock."""
        wanted = set(rails) if rails is not None else set(self.order)
        for name in wanted:
            self._rail(name)
        with self._lock:
            self._check_not_tripped()
            self._refuse_out_of_order(wanted)
            try:
                for name in self.order:
                    if name in wanted and name not in self._setpoint:
                        self._bring_up(name)
                self._clock_on()
                # A clocked chip draws its real current: every rail must still hold.
                for name in self.powered:
                    self._verify(self.rails[name], self._setpoint[name])
            except BaseException as exc:
                self.safe_off(f"power-on failed: {exc}")
                raise
        self.start_monitor()

    def set_rail(self, name: str, volts: float) -> None:
        """Ramp a powered rail to `volts` within its limits, verifying the readback."""
        rail = self._rail(name)
        self._refuse_above_limits(rail, volts)
        with self._lock:
            self._check_not_tripped()
            if name not in self._setpoint:
                raise PowerFault(name, "is not powered — add a power_on step before set_rail")
            try:
                self._ramp(rail, volts)
                self._verify(rail, volts)
            except BaseException as exc:
                self.safe_off(f"set_rail {name} {volts} V failed: {exc}")
                raise

    def setpoint(self, name: str) -> float | None:
        return self._setpoint.get(name)

    def safe_off(self, reason: str = "power-down", *, retry_s: float | None = None) -> list[str]:
        """Clock off, then every rail off in reverse order; never raises. Returns what failed.

        A rail whose supply does not answer is retried (the driver reconnects) until `retry_s`
        has passed; what is still on after that is reported, never silently assumed off.
        """
        self._monitor_stop.set()
        with self._lock:
            switches = self._off_switches()
            deadline = time.monotonic() + (SAFE_OFF_RETRY_S if retry_s is None else retry_s)
            while True:
                errors = {what: error for what, switch in switches.items() if (error := _try(switch))}
                switches = {what: switches[what] for what in errors}
                if not switches or time.monotonic() >= deadline:
                    break
                self._sleep(0.2)
            self._setpoint.clear()
            self._final_readback(skip=set(errors))
        failures = [f"{what} off: {error}" for what, error in errors.items()]
        if failures:
            failures += self._all_off_fallback()
        if failures:
            self._emit_log(f"powered down ({reason}); NOT OFF: {'; '.join(failures)}", "error")
        else:
            self._emit_log(f"powered down ({reason})")
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
        errors = {name: _try(supply.all_off) for name, supply in supplies.items()}
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
        channel = rail.channel
        # Everything that limits the output is programmed while it is still off.
        channel.set_output(False)
        channel.set_voltage(0.0)
        channel.set_current_limit(spec.current_limit_a)
        channel.set_over_voltage_protection(spec.abs_max_v)
        channel.set_over_current_protection(True)
        channel.set_output(True)
        self._setpoint[name] = 0.0
        self._ramp(rail, spec.nominal_v)
        self._verify(rail, spec.nominal_v)

    def _ramp(self, rail: BoundRail, target: float) -> None:
        """Step to `target` no more than ramp_step_v at a time, no faster than the ramp rate."""
        spec = rail.spec
        level = self._setpoint[rail.name]
        while abs(target - level) > 1e-9:
            step = max(-spec.ramp_step_v, min(spec.ramp_step_v, target - level))
            level = round(level + step, 6)
            rail.channel.set_voltage(level)
            self._setpoint[rail.name] = level
            self._sleep(abs(step) / spec.ramp_rate_v_per_s)

    def _verify(self, rail: BoundRail, target: float) -> None:
        """Wait (bounded) for the readback to settle within tolerance; a trip or collapse fails it."""
        deadline = time.monotonic() + READBACK_SETTLE_S
        while True:
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
            self._sleep(0.01)

    # ----------------------------------------------------------------------------- clock
    def _clock_on(self) -> None:
        if self._clock is None:
            return
        source, spec = self._clock
        source.set_output(False)
        source.set_frequency(spec.frequency_hz)
        source.set_amplitude(spec.amplitude_vpp)
        source.set_output(True)

    # --------------------------------------------------------------------------- monitor
    def start_monitor(self) -> None:
        if self._monitor is not None and self._monitor.is_alive():
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
                self.trip_reason = problem
                self.tripped.set()
                self.safe_off(f"trip: {problem}")
                self._on_trip(problem)
                return

    def sample_once(self) -> str | None:
        """Read every powered rail once, publish samples; returns a trip reason or None."""
        with self._lock:
            for name in self.powered:
                rail = self.rails[name]
                try:
                    problem = self._check_rail(rail)
                except Exception as exc:
                    return f"{name}: supply {rail.spec.supply} stopped answering ({first_line(exc)})"
                if problem:
                    return f"{name}: {problem}"
        return None

    def _check_rail(self, rail: BoundRail) -> str | None:
        volts = rail.channel.measure_voltage()
        amps = rail.channel.measure_current()
        self._emit(RailSample(run_id=self._run_id, rail=rail.name, volts=volts, amps=amps))
        limit = rail.spec.current_limit_a
        if amps >= OVER_CURRENT_FRACTION * limit:
            return f"over-current: {amps:.3f} A against a limit of {limit} A"
        tripped = rail.channel.protection_tripped()
        if tripped:
            return f"{tripped} tripped on supply {rail.spec.supply}"
        setpoint = self._setpoint.get(rail.name, 0.0)
        if volts < COLLAPSE_FRACTION * setpoint:
            return f"collapsed: {volts:.4f} V with {setpoint:.4f} V set"
        return None

    def _check_not_tripped(self) -> None:
        if self.tripped.is_set():
            raise PowerTrip(None, f"the rail monitor tripped earlier: {self.trip_reason}")

    def _emit_log(self, text: str, level: str = "info") -> None:
        from bringup.events import Log

        self._emit(Log(run_id=self._run_id, text=text, level=level))

    def close(self) -> None:
        self.stop_monitor()


def _try(action: Callable[[], Any]) -> str | None:
    """Run `action`; the first line of what went wrong, or None."""
    try:
        action()
    except Exception as exc:
        return first_line(exc)
    return None
