"""One run started from the TUI, on its own thread, steerable from the UI.

The thread is not a daemon: if the UI goes away, Python still waits for the run to unwind
through its power-down rather than leave the bench powered. Before the run's first event the
handle says what it is doing (checking the runbook, opening the station), so the screen is
never a blank "starting" for the seconds a bench takes to open.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bringup.messages import described
from bringup.sequencer import ChipInfo, RunReport
from bringup.steps.base import RunControl
from bringup.tui.live_state import LiveRun


@dataclass(frozen=True)
class RunRequest:
    runbook: Path
    station: Path
    chip: str
    operator: str = ""
    db_url: str | None = None
    vector_dirs: Sequence[Path] = field(default=())
    lot: str | None = None
    wafer: int | None = None
    die_x: int | None = None
    die_y: int | None = None

    @property
    def chip_info(self) -> ChipInfo:
        return ChipInfo(serial=self.chip, lot=self.lot, wafer=self.wafer, die_x=self.die_x, die_y=self.die_y)


def describe_failure(exc: BaseException) -> str:
    """A run that could not start, as the lines a person reads: file:line errors, never a traceback."""
    from bringup.yamlfile import ConfigError, ConfigErrors

    if isinstance(exc, ConfigErrors):
        return "\n".join(str(error) for error in exc.errors)
    if isinstance(exc, ConfigError):
        return str(exc)
    return described(exc)


class HeldRunControl(RunControl):
    """RunControl that tells when a pause has taken hold: the run waits at a safe point."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = False

    def checkpoint(self) -> None:
        self.holding = self.paused
        try:
            super().checkpoint()
        finally:
            self.holding = False


class RunHandle:
    """Runs `request` through bringup.api.run_runbook; `on_end` is called on the run's thread."""

    def __init__(self, request: RunRequest, live: LiveRun, on_end: object) -> None:
        self.request = request
        self.control = HeldRunControl()
        self.report: RunReport | None = None
        self.error: str | None = None
        self.validated = threading.Event()  # the runbook checked out: the live screen may show
        self._live = live
        self._on_end = on_end
        self._thread = threading.Thread(target=self._run, name="tui-run", daemon=False)

    def start(self) -> RunHandle:
        self._thread.start()
        return self

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def toggle_pause(self) -> bool:
        """Pause (honoured at the next safe point) or resume; returns whether now paused."""
        if self.control.paused:
            self.control.resume()
        else:
            self.control.pause()
        return self.control.paused

    def abort(self, reason: str) -> None:
        """Safe state first (blocks while the rails go down): call it off the UI thread."""
        self.control.abort(reason)

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        from bringup.api import run_runbook

        r = self.request
        try:
            self._validate()
            self.report = run_runbook(r.runbook, r.station, r.chip_info, db_url=r.db_url, operator=r.operator,
                                      watchers=[self._live], control=self.control,
                                      vector_dirs=list(r.vector_dirs))
        except Exception as exc:  # shown in the UI as one line; the sequencer already powered down
            self.error = describe_failure(exc)
        finally:
            self._on_end(self)  # type: ignore[operator]

    def _validate(self) -> None:
        """Check the station and runbook here first, to say so; run_runbook checks them again."""
        from bringup.api import vector_library
        from bringup.runbook import load_runbook
        from bringup.station import load_station

        r = self.request
        self._live.set_stage(f"checking {r.runbook.name} against {r.station.name}…")
        spec = load_station(r.station)
        loaded = load_runbook(r.runbook, spec, suites=vector_library(r.runbook, r.vector_dirs).names())
        instruments = ", ".join(spec.instruments)
        self._live.set_stage(f"{r.runbook.name}: {len(loaded.model.steps)} steps checked; opening station "
                             f"{spec.name} ({instruments}) and recording the run…")
        self.validated.set()
