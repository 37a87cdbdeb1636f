"""The sequencer: runs a runbook's steps on an opened station and reports everything as events.

Teardown is structural: whatever ends a run — the last step, a failed step, an exception, the
rail monitor, `stop`, `abort`, Ctrl-C, SIGTERM — the rails go down in reverse order in a
`finally` and the forcer is parked, and `RunFinished` says how it ended and why. Steps run on a
worker thread so that the main thread stays free for signals: Ctrl-C, SIGTERM, SIGHUP and SIGQUIT
abort the run (the bench is put in its safe state from the signal handler at once) instead of
unwinding a half-sent SCPI command (bringup/process_guard.py).

The verdict comes from the record and from what was seen, never from one step's exception:
- every step verdict counts, including those recorded before a resume (`ResumePoint`), and an
  earlier `on_fail: stop` failure is honoured after a resume;
- an abort (operator, signal, outputs switched off externally) ends `aborted` with its reason,
  even when the step then failed because the chip lost power (that is a consequence);
- a trip or fault (rail monitor, recorder overflow) ends `error` with the trip as the reason,
  including one noted after the last step returned;
- the last step's `StepFinished` is published after the power-down, so a stalled subscriber
  cannot hold the rails up at the end of a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bringup import __version__
from bringup.events import (
    InstrumentInfo,
    Log,
    RunEvent,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    new_run_id,
)
from bringup.messages import described
from bringup.power import PowerController, PowerState
from bringup.process_guard import guard_run
from bringup.steps import STEP_CLASSES
from bringup.steps.base import RunAborted, RunControl, RunFault, RunStopped, Step, StepContext
from bringup.thermal import ThermalController, describe_park

if TYPE_CHECKING:
    from bringup.dut.base import Dut
    from bringup.runbook import LoadedRunbook
    from bringup.station import Station


@dataclass(frozen=True)
class RunReport:
    run_id: str
    status: RunStatus
    reason: str
    failed_steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResumePoint:
    """Where a dead run got to: steps up to `last_completed_step` are done, with the verdicts
    recorded for them in `step_verdicts` (index -> status); the vector results in
    `done_vectors`, keyed (step index, vector content hash, repeat), are recorded, and those in
    `failed_vectors` failed."""

    last_completed_step: int
    done_vectors: frozenset[tuple[int, str, int]] = frozenset()
    step_verdicts: dict[int, StepStatus] = field(default_factory=dict)
    failed_vectors: frozenset[tuple[int, str, int]] = frozenset()
    sweep_points: tuple[Any, ...] = ()  # recorded SweepPoint rows: a sweep replays, not re-measures
    vector_passes: dict[tuple[int, str, int], bool] = field(default_factory=dict)


@dataclass(frozen=True)
class ChipInfo:
    serial: str
    lot: str | None = None
    wafer: int | None = None
    die_x: int | None = None
    die_y: int | None = None


class _RunEnded(Exception):
    """How a step ended the run: its status and the reason the record gives."""

    def __init__(self, status: RunStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Sequencer:
    station: Station
    runbook: LoadedRunbook
    chip: ChipInfo
    publish: Callable[[RunEvent], None]
    operator: str = ""
    dut_factory: Callable[[], Dut] | None = None
    vector_source: Any = None
    control: RunControl = field(default_factory=RunControl)
    run_id: str = field(default_factory=new_run_id)
    resume: ResumePoint | None = None
    monitor_hz: float = 10.0
    _pending: list[StepFinished] = field(default_factory=list, init=False, repr=False)

    def run(self) -> RunReport:
        """Run to the end (blocking) and return how it ended; never leaves a rail powered."""
        outcome: list[RunReport] = []
        worker = threading.Thread(target=lambda: outcome.append(self._run()), name="sequencer")
        with guard_run(self.control, station=self.station.spec.name):
            worker.start()
            while worker.is_alive():
                worker.join(0.2)  # short waits keep the main thread responsive to signals
        if not outcome:
            raise RuntimeError(f"run {self.run_id}: the sequencer thread died without a report")
        return outcome[0]

    # ------------------------------------------------------------------------------ the run
    def _run(self) -> RunReport:
        control = self.control
        power = PowerController(
            self.station.rails, self.station.spec.power_on_order, clock=self._clock(),
            emit=self.publish, on_trip=lambda why: control.fault(f"rail monitor tripped: {why}"),
            on_switched_off=control.abort, run_id=self.run_id, monitor_hz=self.monitor_hz,
        )
        forget = [control.on_abort(lambda reason: power.halt(f"abort: {reason}", PowerState.ABORTED)),
                  control.on_fault(lambda reason: power.halt(reason, PowerState.TRIPPED))]
        thermal = self._thermal()
        ctx = StepContext(
            run_id=self.run_id, station=self.station, power=power, control=control,
            publish=self.publish, dut_factory=self._dut_factory(), vector_source=self.vector_source,
            core_rail=self.station.spec.core_rail_name, chip_serial=self.chip.serial,
            done_vectors=set(self.resume.done_vectors) if self.resume else set(), thermal=thermal,
            recorded_sweep_points=self.resume.sweep_points if self.resume else (),
            recorded_vector_passes=dict(self.resume.vector_passes) if self.resume else {},
        )
        self.publish(self._started())
        failed: list[str] = []
        status, reason = RunStatus.ERROR, "the run ended without a verdict"
        try:
            if self.resume is not None:
                # A dead run left the bench as it was (rails up, clock on): start from a known state.
                power.safe_off("resume: from a known state, all rails off")
            power.refuse_latched_protection()  # before anything is enabled
            status, reason = self._steps(ctx, failed)
        except _RunEnded as ended:
            status, reason = ended.status, ended.reason
        except RunStopped as exc:
            status, reason = self._seen(power) or (RunStatus.ABORTED, str(exc))
        except BaseException as exc:
            status, reason = self._seen(power) or self._by_exception(exc)
        finally:
            failures = power.safe_off(f"end of run ({status})")
            power.close()  # joins the monitor: a trip it noted is visible below
            for forget_callback in forget:
                forget_callback()
            if status in (RunStatus.PASSED, RunStatus.FAILED):
                status, reason = self._seen(power) or (status, reason)
            parked = self._park(thermal)
            if failures:
                reason += f"; power-down incomplete: {'; '.join(failures)}"
                status = RunStatus.ERROR
            if parked:
                reason += f"; forcer not parked: {'; '.join(parked)}"
                status = RunStatus.ERROR
            self._publish_pending()  # after the power-down: a stalled bus cannot delay it
            self.publish(RunFinished(run_id=self.run_id, status=status, reason=reason))
        return RunReport(self.run_id, status, reason, tuple(failed))

    def _seen(self, power: PowerController) -> tuple[RunStatus, str] | None:
        """An abort, trip or fault seen at any time outranks what the steps made of it."""
        control = self.control
        if control.abort_reason is not None:
            return RunStatus.ABORTED, control.abort_reason
        if control.fault_reason is not None:
            return RunStatus.ERROR, control.fault_reason
        if power.trip_reason is not None:
            return RunStatus.ERROR, f"rail monitor tripped: {power.trip_reason}"
        return None

    @staticmethod
    def _by_exception(exc: BaseException) -> tuple[RunStatus, str]:
        if isinstance(exc, RunAborted | RunStopped):
            return RunStatus.ABORTED, str(exc)
        if isinstance(exc, RunFault):
            return RunStatus.ERROR, str(exc)
        return RunStatus.ERROR, described(exc)

    def _steps(self, ctx: StepContext, failed: list[str]) -> tuple[RunStatus, str]:
        steps = [STEP_CLASSES[spec.step](spec) for spec in self.runbook.steps]
        stopped = self._recorded_stop(steps, failed)
        if stopped is not None:
            return stopped
        for index, step in enumerate(steps):
            self._pause_point(index, step)
            ctx.step_index = index
            if self.resume and index <= self.resume.last_completed_step:
                self._restore(ctx, index, step)
                continue
            if not self._one_step(ctx, index, step):
                failed.append(f"{index + 1} {step.title}")
                if step.spec.on_fail == "stop":
                    return RunStatus.FAILED, f"step {index + 1} ({step.title}) failed; on_fail: stop"
        self.control.check()  # a trip noted as the last step returned still counts
        if failed:
            return RunStatus.FAILED, f"{len(failed)} step(s) failed: {', '.join(failed)}"
        return RunStatus.PASSED, "every step passed"

    def _recorded_stop(self, steps: list[Step], failed: list[str]) -> tuple[RunStatus, str] | None:
        """On resume: count the failures recorded before it; an `on_fail: stop` one ends the run."""
        if self.resume is None:
            return None
        for index, step in enumerate(steps[: self.resume.last_completed_step + 1]):
            if self.resume.step_verdicts.get(index) not in (StepStatus.FAILED, StepStatus.ERROR):
                continue
            failed.append(f"{index + 1} {step.title}")
            if step.spec.on_fail == "stop":
                return RunStatus.FAILED, (f"step {index + 1} ({step.title}) failed before the resume; "
                                          "on_fail: stop")
        return None

    def _pause_point(self, index: int, step: Step) -> None:
        """Between steps: hold while paused (saying so), end on stop or abort."""
        self._publish_pending()
        if self.control.paused:
            self.publish(Log(run_id=self.run_id, text=f"paused before step {index + 1} ({step.title})"))
        self.control.checkpoint()
        if self.control.stop_reason:
            raise RunStopped(f"{self.control.stop_reason} (before step {index + 1} {step.title})")

    def _one_step(self, ctx: StepContext, index: int, step: Step) -> bool:
        self.publish(StepStarted(run_id=self.run_id, index=index, name=step.title, kind=step.kind))
        try:
            outcome = step.run(ctx)
            self.control.check()  # a trip during the step outranks what the step saw
        except BaseException as exc:
            status, reason = self._seen(ctx.power) or self._by_exception(exc)
            own = self._by_exception(exc)
            consequence = "" if own == (status, reason) else f" (the step then ended: {own[1]})"
            step_status = StepStatus.ABORTED if status is RunStatus.ABORTED else StepStatus.ERROR
            self._finished(index, step_status, reason + consequence)
            raise _RunEnded(status, reason) from exc
        passed, message = outcome.passed, outcome.message
        earlier = self._failed_before_resume(index)
        if passed and earlier:
            passed, message = False, f"{message}; {earlier} vector(s) recorded before the resume failed"
        self._finished(index, StepStatus.PASSED if passed else StepStatus.FAILED, message)
        return passed

    def _failed_before_resume(self, index: int) -> int:
        if self.resume is None:
            return 0
        return sum(1 for key in self.resume.failed_vectors if key[0] == index)

    def _finished(self, index: int, status: StepStatus, message: str) -> None:
        """Held until the next thing happens: at the end of a run, after the power-down."""
        self._pending.append(StepFinished(run_id=self.run_id, index=index, status=status, message=message))

    def _publish_pending(self) -> None:
        while self._pending:
            self.publish(self._pending.pop(0))

    def _restore(self, ctx: StepContext, index: int, step: Step) -> None:
        """On resume, replay what a finished step left on the bench (power, clock, temperature)."""
        if not step.restores_state:
            return
        step.run(ctx)
        self.publish(Log(run_id=self.run_id, text=f"resume: restored the state of step {index + 1} "
                         f"({step.title})"))

    def _park(self, thermal: ThermalController | None) -> list[str]:
        if thermal is None:
            return []
        failures = thermal.park()
        if not failures:
            self.publish(Log(run_id=self.run_id, text=f"forcer parked ({describe_park(thermal.settings)})"))
        return failures

    # ----------------------------------------------------------------------------- helpers
    def _thermal(self) -> ThermalController | None:
        forcers = self.station.of_role("thermal_forcer")
        return ThermalController(forcers[0], self.station.spec.forcer) if forcers else None

    def _started(self) -> RunStarted:
        spec = self.station.spec
        instruments = tuple(
            InstrumentInfo(role=inst.role, driver=inst.driver, resource=inst.address,
                           idn=_idn(self.station.instruments.get(name)))
            for name, inst in spec.instruments.items()
        )
        return RunStarted(
            run_id=self.run_id, chip_serial=self.chip.serial, station_name=spec.name,
            runbook_name=self.runbook.name, runbook_hash=self.runbook.content_hash,
            runbook_text=self.runbook.text, operator=self.operator, software_version=__version__,
            lot=self.chip.lot, wafer=self.chip.wafer, die_x=self.chip.die_x, die_y=self.chip.die_y,
            instruments=instruments, resumed=self.resume is not None,
        )

    def _clock(self) -> tuple[Any, Any] | None:
        clock = self.station.spec.clock
        if clock is None or clock.source not in self.station.instruments:
            return None
        return self.station.instruments[clock.source], clock

    def _dut_factory(self) -> Callable[[], Dut] | None:
        if self.dut_factory is not None:
            return self.dut_factory
        console = self.station.console
        if console is None:
            return None

        def monitor_dut() -> Dut:
            from bringup.dut.monitor import MonitorDut

            return MonitorDut(console, name=self.chip.serial)

        return monitor_dut


def _idn(driver: Any) -> str:
    identity = getattr(driver, "identity", None)
    return ",".join(identity) if identity else ""
