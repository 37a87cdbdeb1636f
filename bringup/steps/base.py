"""What every step sees (`StepContext`) and gives back (`StepOutcome`), and how a run is steered.

A step is one small class with `run(ctx) -> StepOutcome`. It touches the bench only through the
context: the power controller, the station's roles, the Dut, and `ctx.emit` for events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from bringup.events import Conditions, Log, Measurement, RunEvent
from bringup.limits import within

if TYPE_CHECKING:
    from bringup.dut.base import Dut
    from bringup.power import PowerController
    from bringup.station import Station
    from bringup.thermal import ThermalController


@dataclass(frozen=True)
class StepOutcome:
    passed: bool
    message: str = ""


class RunAborted(Exception):
    """The run was aborted (operator, Ctrl-C, SIGTERM): the rails are already going down."""


class RunStopped(Exception):
    """The operator asked to stop: the current step finished, the teardown follows."""


class RunFault(Exception):
    """Something on the bench made going on unsafe (a rail trip): the rails are already down."""


class ChipMismatch(RunFault):
    """The chip on the bench names itself with another serial than the run was started for."""


class ChipNotRunning(RuntimeError):
    """A step needs the chip powered on every rail and clocked, and it is not."""


class RunControl:
    """Pause, resume, stop and abort, requested from any thread and honoured at safe points.

    `abort` puts the bench in its safe state at once, from the caller's thread (the registered
    `on_abort` callbacks, the power-down), then the run unwinds at its next check. `fault` (a
    rail trip, a recorder that cannot keep up) does the same through `on_fault`. The reason is
    set before any callback runs, so whatever fails afterwards (a chip that stops answering
    because it was powered down) is read as the consequence, not the cause. `stop` only asks
    the run to end after the current step, with the normal teardown.
    """

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._wake = threading.Condition()
        self.stop_reason: str | None = None
        self.abort_reason: str | None = None
        self.fault_reason: str | None = None
        self._on_abort: list[Callable[[str], Any]] = []
        self._on_fault: list[Callable[[str], Any]] = []

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()
        with self._wake:
            self._wake.notify_all()

    def stop(self, reason: str = "stopped by the operator") -> None:
        self.stop_reason = self.stop_reason or reason
        self.resume()

    def abort(self, reason: str = "aborted by the operator") -> None:
        if self.abort_reason is None:
            self.abort_reason = reason
            for callback in list(self._on_abort):
                callback(reason)
        self.resume()

    def fault(self, reason: str) -> None:
        """The bench failed under the run (the rail monitor tripped): end it as an error."""
        if self.fault_reason is None:
            self.fault_reason = reason
            for callback in list(self._on_fault):
                callback(reason)
        self.resume()

    def on_abort(self, callback: Callable[[str], Any]) -> Callable[[], None]:
        """Call `callback(reason)` on abort; returns a function that forgets it again."""
        self._on_abort.append(callback)
        return lambda: self._on_abort.remove(callback)

    def on_fault(self, callback: Callable[[str], Any]) -> Callable[[], None]:
        """Call `callback(reason)` on a fault; returns a function that forgets it again."""
        self._on_fault.append(callback)
        return lambda: self._on_fault.remove(callback)

    @property
    def ending(self) -> bool:
        return self.abort_reason is not None or self.fault_reason is not None

    def check(self) -> None:
        """Raise if the run was aborted or faulted; called often inside long steps."""
        if self.abort_reason is not None:
            raise RunAborted(self.abort_reason)
        if self.fault_reason is not None:
            raise RunFault(self.fault_reason)

    def checkpoint(self) -> None:
        """A safe point to pause at: wait while paused, raise on abort."""
        self.check()
        with self._wake:
            while self.paused and not self.ending and self.stop_reason is None:
                self._wake.wait(0.5)
        self.check()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, but wake at once on abort."""
        deadline = time.monotonic() + seconds
        with self._wake:
            while not self.ending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(left)
        self.check()


@dataclass
class StepContext:
    run_id: str
    station: Station
    power: PowerController
    control: RunControl
    publish: Callable[[RunEvent], None]
    dut_factory: Callable[[], Dut] | None
    vector_source: Any = None  # bringup.vectors suites, resolved by run_vectors
    step_index: int = 0
    core_rail: str | None = None
    chip_serial: str = ""
    core_mhz: float | None = None
    temperature_c: float | None = None
    done_vectors: set[tuple[int, str, int]] = field(default_factory=set)
    thermal: ThermalController | None = None
    # What a resumed run recorded of its sweeps: SweepPoint rows and vector verdicts by key.
    recorded_sweep_points: tuple[Any, ...] = ()
    recorded_vector_passes: dict[tuple[int, str, int], bool] = field(default_factory=dict)
    _dut: Dut | None = None

    @property
    def has_dut(self) -> bool:
        return self.dut_factory is not None

    @property
    def dut(self) -> Dut:
        """The chip; only while every rail is up and the reference clock runs."""
        self.require_running_chip()
        if self._dut is None:
            if self.dut_factory is None:
                raise RuntimeError(f"station {self.station.spec.name} has no console to reach the chip "
                                   "— add the chip's UART (driver: serial_console) to the station file")
            self._dut = self.dut_factory()
        return self._dut

    def require_running_chip(self) -> None:
        if not self.power.clock_running:
            up = ", ".join(self.power.powered) or "none"
            raise ChipNotRunning(
                f"the chip is not powered on every rail with its clock running (rails up: {up}) — "
                "add a power_on step for every rail before a step that talks to the chip")

    def conditions(self) -> Conditions:
        volts = self.power.setpoint(self.core_rail) if self.core_rail else None
        return Conditions(vdd_core_v=volts, core_mhz=self.core_mhz, temperature_c=self.temperature_c)

    def emit(self, event: RunEvent) -> None:
        self.publish(event)

    def log(self, text: str, level: str = "info") -> None:
        self.publish(Log(run_id=self.run_id, text=text, level=level))

    def measure(self, name: str, value: float, units: str, low: float | None, high: float | None) -> bool:
        """Record a limit-checked value; the verdict is decided here, where the value is set."""
        passed = within(value, low, high)
        self.publish(Measurement(run_id=self.run_id, step_index=self.step_index, name=name, value=value,
                                 units=units, low=low, high=high, passed=passed,
                                 conditions=self.conditions()))
        return passed is not False


class Step:
    """Base of the step classes: `kind` names it in runbooks; `restores_state` steps are replayed
    (quietly) on resume so the bench is as the run left it."""

    kind: ClassVar[str]
    restores_state: ClassVar[bool] = False

    def __init__(self, spec: Any) -> None:
        self.spec = spec

    @property
    def title(self) -> str:
        return self.spec.title

    def run(self, ctx: StepContext) -> StepOutcome:
        raise NotImplementedError
