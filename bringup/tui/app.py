"""The Textual app: start a run, watch it live, steer it (pause, stop, abort), browse history.

The run goes on its own thread (RunHandle) and its events land in a LiveRun; a 10 Hz timer on
the UI thread turns them into one redraw. Whatever closes the UI — `q`, a signal, a crash — the
run is aborted first, safe state first, so quitting never leaves the bench powered.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message

from bringup.tui.live_state import LiveRun
from bringup.tui.run_handle import RunHandle, RunRequest
from bringup.tui.screens.confirm import ConfirmScreen
from bringup.tui.screens.history import HistoryScreen
from bringup.tui.screens.live import LiveScreen
from bringup.tui.screens.start import StartScreen

SHIPPED_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
REFRESH_S = 0.1  # redraws per second are capped at 10 however fast events arrive
EXIT_PASSED, EXIT_FAILED, EXIT_INVALID_INPUT, EXIT_ABORTED = 0, 1, 2, 3  # as bringup.cli


class RunEnded(Message):
    """Posted from the run's thread when run_runbook returned or raised."""

    def __init__(self, handle: RunHandle) -> None:
        super().__init__()
        self.handle = handle


class BringupApp(App[int]):
    TITLE = "bringup"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "quit", priority=True, show=False)]

    def __init__(self, station: Path, *, db_url: str | None = None, runbooks_dir: Path = SHIPPED_RUNBOOKS,
                 chip: str = "", autostart: RunRequest | None = None,
                 vector_dirs: Sequence[Path] = ()) -> None:
        super().__init__()
        self.station = Path(station)
        self.db_url = db_url
        self.runbooks_dir = Path(runbooks_dir)
        self.chip = chip
        self.vector_dirs = tuple(vector_dirs)
        self.autostart = autostart
        self.handle: RunHandle | None = None
        self.live: LiveRun | None = None
        self.live_screen: LiveScreen | None = None
        self._quit_when_ended = False

    # ------------------------------------------------------------------ starting a run
    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.refresh_live)
        if self.autostart is not None:
            self._show_live()
            self._begin(self.autostart)
        else:
            self.push_screen(StartScreen(self.runbooks_dir, self.chip))

    def start_run(self, runbook: Path, chip: str, operator: str = "") -> None:
        """Called by the start screen; the live screen appears when the run has really started."""
        self._begin(RunRequest(runbook=runbook, station=self.station, chip=chip, operator=operator,
                               db_url=self.db_url, vector_dirs=self.vector_dirs))

    def _begin(self, request: RunRequest) -> None:
        if self.run_active:
            self.notify("a run is already going on this bench", severity="warning")
            return
        self.live = LiveRun()
        self.handle = RunHandle(request, self.live, on_end=lambda h: self.post_message(RunEnded(h))).start()

    @property
    def run_active(self) -> bool:
        return self.handle is not None and self.handle.active

    def _show_live(self) -> None:
        self.live_screen = LiveScreen()
        self.push_screen(self.live_screen)

    # ------------------------------------------------------------------ showing it
    def refresh_live(self) -> None:
        """Fold what happened since the last tick into one redraw of the live screen."""
        if self.live is None:
            return
        if self.live_screen is None:
            if self.live.started:
                self._show_live()  # the run validated and opened the bench: leave the start screen
            return
        if not self.live_screen.is_mounted:
            return  # keep the events for the first redraw
        snap = self.live.snapshot()
        if snap is not None:
            self.live_screen.show(snap)

    def on_run_ended(self, message: RunEnded) -> None:
        if message.handle is not self.handle:
            return
        if message.handle.error is not None and self.live_screen is None:
            start = self._start_screen()
            if start is not None:
                start.show_error(message.handle.error)
        else:
            self.refresh_live()
            if self.live_screen is not None:
                self.live_screen.set_note("")
                if message.handle.error is not None:
                    self.live_screen.show_failure(message.handle.error)
        if self._quit_when_ended:
            self._exit_with_code()

    def _start_screen(self) -> StartScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, StartScreen)), None)

    # ------------------------------------------------------------------ the operator's keys
    def action_pause(self) -> None:
        if not self.run_active or self.handle is None or self.live_screen is None:
            return
        paused = self.handle.toggle_pause()
        self.live_screen.set_note("paused (takes hold at the next safe point; p resumes)" if paused else "")

    def action_stop(self) -> None:
        if self.run_active and self.handle is not None and self.live_screen is not None:
            self.handle.control.stop()
            self.live_screen.set_note("stopping: the current step finishes, then the rails go down")

    def action_abort(self) -> None:
        if not self.run_active:
            return
        self.push_screen(ConfirmScreen("Abort the run? Every rail goes down now, in reverse order."),
                         lambda yes: self._abort("aborted by the operator") if yes else None)

    def action_history(self) -> None:
        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen(self.db_url))

    async def action_quit(self) -> None:
        if not self.run_active:
            self._exit_with_code()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._quit_when_ended = True
                self._abort("aborted: the operator quit the TUI")

        self.push_screen(ConfirmScreen("A run is active. Abort it (rails down first) and quit?"), answered)

    def _abort(self, reason: str) -> None:
        if self.handle is None:
            return
        if self.live_screen is not None:
            self.live_screen.set_note("aborting: the rails are going down")
        # The power-down talks SCPI for up to seconds: never on the UI thread.
        self.run_worker(lambda: self.handle.abort(reason), thread=True, name="abort")  # type: ignore[union-attr]

    # ------------------------------------------------------------------ ending
    @property
    def exit_code(self) -> int:
        handle = self.handle
        if handle is None:
            return EXIT_PASSED
        if handle.report is None:
            return EXIT_INVALID_INPUT if handle.error else EXIT_ABORTED
        return {"passed": EXIT_PASSED, "failed": EXIT_FAILED}.get(str(handle.report.status), EXIT_ABORTED)

    def _exit_with_code(self) -> None:
        code = self.exit_code
        self.exit(code, return_code=code)

    def terminate(self, reason: str) -> None:
        """From any thread but the UI's: abort the run (safe state first), then close the UI."""
        if self.handle is not None and self.handle.active:
            self.handle.abort(reason)
        try:
            self.call_from_thread(self._exit_with_code)
        except RuntimeError:
            pass  # the UI has already closed

    def finish_run(self, reason: str = "aborted: the TUI closed during the run") -> None:
        """After the UI closed however it closed: a run still going is aborted and waited for."""
        if self.handle is not None and self.handle.active:
            self.handle.abort(reason)
            self.handle.wait()


_CLOSING_SIGNALS = {signal.SIGTERM: "terminated (SIGTERM)", signal.SIGHUP: "the terminal went away (SIGHUP)"}


def run_app(app: BringupApp) -> int:
    """Run the TUI in this (main) thread; SIGTERM and SIGHUP abort the run before it exits."""
    previous: dict[int, Any] = {}
    for signum, reason in _CLOSING_SIGNALS.items():
        previous[signum] = signal.signal(
            signum, lambda *_, r=reason: threading.Thread(target=app.terminate, args=(r,)).start())
    try:
        code = app.run()
    finally:
        app.finish_run()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return app.exit_code if code is None else code
