"""One run started from the TUI, on its own thread, steerable from the UI.

The thread is not a daemon: if the UI goes away, Python still waits for the run to unwind
through its power-down rather than leave the bench powered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bringup.messages import described
from bringup.sequencer import RunReport
from bringup.steps.base import RunControl


@dataclass(frozen=True)
class RunRequest:
    runbook: Path
    station: Path
    chip: str
    operator: str = ""
    db_url: str | None = None
    vector_dirs: Sequence[Path] = field(default=())


def describe_failure(exc: BaseException) -> str:
    """A run that could not start, as the lines a person reads: file:line errors, never a traceback."""
    from bringup.yamlfile import ConfigError, ConfigErrors

    if isinstance(exc, ConfigErrors):
        return "\n".join(str(error) for error in exc.errors)
    if isinstance(exc, ConfigError):
        return str(exc)
    return described(exc)


class RunHandle:
    """Runs `request` through bringup.api.run_runbook; `on_end` is called on the run's thread."""

    def __init__(self, request: RunRequest, watcher: Callable[[Any], None],
                 on_end: Callable[[RunHandle], None]) -> None:
        self.request = request
        self.control = RunControl()
        self.report: RunReport | None = None
        self.error: str | None = None
        self._watcher = watcher
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
            self.report = run_runbook(r.runbook, r.station, r.chip, db_url=r.db_url, operator=r.operator,
                                      watchers=[self._watcher], control=self.control,
                                      vector_dirs=list(r.vector_dirs))
        except Exception as exc:  # shown in the UI as one line; the sequencer already powered down
            self.error = describe_failure(exc)
        finally:
            self._on_end(self)
