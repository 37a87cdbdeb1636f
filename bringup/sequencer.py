"""The sequencer: runs a runbook's steps on an opened station and reports everything as events.

Teardown is structural: whatever ends a run — the last step, a failed step, an exception, the
rail monitor, `stop`, `abort`, Ctrl-C, SIGTERM — the rails go down in reverse order in a
`finally`, and `RunFinished` says how it ended and why. Steps run on a worker thread so that the
main thread stays free for signals: Ctrl-C and SIGTERM abort the run (the bench is put in its
safe state from the signal handler at once) instead of unwinding a half-sent SCPI command.
"""

from __future__ import annotations

import signal
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
from bringup.power import PowerController
from bringup.steps import STEP_CLASSES
from bringup.steps.base import RunAborted, RunControl, RunFault, RunStopped, Step, StepContext

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
    """Where a dead run got to: steps up to `last_completed_step` are done, and the vector
    results in `done_vectors`, keyed (step index, vector content hash, repeat), are recorded."""

    last_completed_step: int
    done_vectors: frozenset[tuple[int, str, int]] = frozenset()
    sweep_points: tuple[Any, ...] = ()  # recorded SweepPoint rows: a sweep replays, not re-measures
    vector_passes: dict[tuple[int, str, int], bool] = field(default_factory=dict)


@dataclass(frozen=True)
class ChipInfo:
    serial: str
    lot: str | None = None
    wafer: int | None = None
    die_x: int | None = None
    die_y: int | None = None


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

    def run(self) -> RunReport:
        """Run to the end (blocking) and return how it ended; never leaves a rail powered."""
        outcome: list[RunReport] = []
        worker = threading.Thread(target=lambda: outcome.append(self._run()), name="sequencer")
        with _signals_abort(self.control):
            worker.start()
            while worker.is_alive():
                worker.join(0.2)  # short waits keep the main thread responsive to signals
        if not outcome:
            raise RuntimeError(f"run {self.run_id}: the sequencer thread died without a report")
        return outcome[0]

    # ------------------------------------------------------------------------------ the run
    def _run(self) -> RunReport:
        power = PowerController(
            self.station.rails, self.station.spec.power_on_order, clock=self._clock(),
            emit=self.publish, on_trip=lambda why: self.control.fault(f"rail monitor tripped: {why}"),
            run_id=self.run_id, monitor_hz=self.monitor_hz,
        )
        forget_abort = self.control.on_abort(lambda reason: power.safe_off(f"abort: {reason}"))
        ctx = StepContext(
            run_id=self.run_id, station=self.station, power=power, control=self.control,
            publish=self.publish, dut_factory=self._dut_factory(), vector_source=self.vector_source,
            core_rail=self.station.spec.core_rail_name,
            done_vectors=set(self.resume.done_vectors) if self.resume else set(),
            recorded_sweep_points=self.resume.sweep_points if self.resume else (),
            recorded_vector_passes=dict(self.resume.vector_passes) if self.resume else {},
        )
        self.publish(self._started())
        if self.resume is not None:
            # A dead run left the bench as it was (rails up, clock on): start from a known state.
            power.safe_off("resume: from a known state, all rails off")
        failed: list[str] = []
        status, reason = RunStatus.ERROR, "the run ended without a verdict"
        try:
            status, reason = self._steps(ctx, failed)
        except (RunAborted, RunStopped) as exc:
            status, reason = RunStatus.ABORTED, str(exc)
        except RunFault as exc:
            status, reason = RunStatus.ERROR, str(exc)
        except Exception as exc:
            status, reason = RunStatus.ERROR, described(exc)
        finally:
            failures = power.safe_off(f"end of run ({status})")
            power.close()
            forget_abort()
            if failures:
                reason += f"; power-down incomplete: {'; '.join(failures)}"
                status = RunStatus.ERROR
            self.publish(RunFinished(run_id=self.run_id, status=status, reason=reason))
        return RunReport(self.run_id, status, reason, tuple(failed))

    def _steps(self, ctx: StepContext, failed: list[str]) -> tuple[RunStatus, str]:
        steps = [STEP_CLASSES[spec.step](spec) for spec in self.runbook.steps]
        for index, step in enumerate(steps):
            self.control.checkpoint()
            if self.control.stop_reason:
                raise RunStopped(f"{self.control.stop_reason} (before step {index + 1} {step.title})")
            ctx.step_index = index
            if self.resume and index <= self.resume.last_completed_step:
                self._restore(ctx, index, step)
                continue
            if not self._one_step(ctx, index, step):
                failed.append(f"{index + 1} {step.title}")
                if step.spec.on_fail == "stop":
                    return RunStatus.FAILED, f"step {index + 1} ({step.title}) failed; on_fail: stop"
        if failed:
            return RunStatus.FAILED, f"{len(failed)} step(s) failed: {', '.join(failed)}"
        return RunStatus.PASSED, "every step passed"

    def _one_step(self, ctx: StepContext, index: int, step: Step) -> bool:
        self.publish(StepStarted(run_id=self.run_id, index=index, name=step.title, kind=step.kind))
        try:
            outcome = step.run(ctx)
            self.control.check()  # a trip during the step outranks what the step saw
        except (RunAborted, RunStopped, RunFault) as exc:
            self._finished(index, StepStatus.ABORTED, str(exc))
            raise
        except Exception as exc:
            self._finished(index, StepStatus.ERROR, described(exc))
            raise
        self._finished(index, StepStatus.PASSED if outcome.passed else StepStatus.FAILED, outcome.message)
        return outcome.passed

    def _finished(self, index: int, status: StepStatus, message: str) -> None:
        self.publish(StepFinished(run_id=self.run_id, index=index, status=status, message=message))

    def _restore(self, ctx: StepContext, index: int, step: Step) -> None:
        """On resume, replay what a finished step left on the bench (power, clock, temperature)."""
        if not step.restores_state:
            return
        step.run(ctx)
        self.publish(Log(run_id=self.run_id, text=f"resume: restored the state of step {index + 1} "
                         f"({step.title})"))

    # ----------------------------------------------------------------------------- helpers
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


_SIGNAL_REASONS = {signal.SIGINT: "interrupted by Ctrl-C (SIGINT)", signal.SIGTERM: "terminated (SIGTERM)"}


class _signals_abort:
    """While a run is active on the main thread, Ctrl-C and SIGTERM abort it safely."""

    def __init__(self, control: RunControl) -> None:
        self.control = control
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, reason in _SIGNAL_REASONS.items():
            self.previous[signum] = signal.signal(signum, lambda *_, r=reason: self.control.abort(r))

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
