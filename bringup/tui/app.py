"""The Textual app: start runs chip after chip, watch them live, steer them, browse history,
follow a run another process records (attach).

The run goes on its own thread (RunHandle) and its events land in a LiveRun; a 10 Hz timer on
the UI thread turns them into one redraw. Whatever closes the UI — `q`, a signal, a closed
terminal, a crash — the run is aborted first, safe state first, so quitting never leaves the
bench powered.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message

from bringup.tui.live_state import LiveRun, RailInfo
from bringup.tui.run_handle import RunHandle, RunRequest
from bringup.tui.screens.confirm import ConfirmScreen
from bringup.tui.screens.help import HelpScreen
from bringup.tui.screens.history import HistoryScreen
from bringup.tui.screens.live import LiveScreen
from bringup.tui.screens.start import StartScreen, StartValues

SHIPPED_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
REFRESH_S = 0.1  # redraws per second are capped at 10 however fast events arrive
EXIT_PASSED, EXIT_FAILED, EXIT_INVALID_INPUT, EXIT_ABORTED = 0, 1, 2, 3  # as bringup.cli
PAUSE_ASKED = "pausing: takes hold at the next safe point (p resumes)"
PAUSE_HELD = "paused (p resumes)"


class RunEnded(Message):
    """Posted from the run's thread when run_runbook returned or raised."""

    def __init__(self, handle: RunHandle) -> None:
        super().__init__()
        self.handle = handle


def station_rails(station: Path | None) -> list[RailInfo]:
    """The station's rails in power-on order with their limits; [] when it cannot be read."""
    if station is None:
        return []
    from bringup.station import load_station

    try:
        spec = load_station(station)
    except Exception:  # the run reports a bad station file itself, with its line
        return []
    return [RailInfo(name, spec.rails[name].nominal_v, spec.rails[name].abs_max_v,
                     spec.rails[name].current_limit_a) for name in spec.power_on_order if name in spec.rails]


class BringupApp(App[int]):
    TITLE = "bringup"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "quit", priority=True, show=False),
        Binding("h", "history", "history"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, station: Path | None, *, db_url: str | None = None,
                 runbooks_dir: Path = SHIPPED_RUNBOOKS, chip: str = "", autostart: RunRequest | None = None,
                 vector_dirs: Sequence[Path] = (), attach: str | None = None,
                 clock: Any = None) -> None:
        super().__init__()
        self.station = Path(station) if station is not None else None
        self.db_url = db_url
        self.runbooks_dir = Path(runbooks_dir)
        self.chip = chip
        self.vector_dirs = tuple(vector_dirs)
        self.autostart = autostart
        self.attach_to = attach
        self.clock = clock  # tests fix "now" for the elapsed time; None is the wall clock
        self.handle: RunHandle | None = None
        self.follower: Any = None
        self.live: LiveRun | None = None
        self.live_screen: LiveScreen | None = None
        self.last_values = StartValues(chip=chip)
        self._quit_when_ended = False
        # Set when a run starts, cleared once its live screen is shown: the redraw tick shows the
        # live screen once per run, never again after `n` has left it for the start screen.
        self._live_screen_owed = False
        self._keys_shown_for_active: bool | None = None  # run_active when the live screen's keys were drawn

    # ------------------------------------------------------------------ starting a run
    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.refresh_live)
        self.open_first_screen()

    def open_first_screen(self) -> None:
        if self.attach_to is not None:
            self.attach(self.attach_to)
        elif self.autostart is not None:
            self._begin(self.autostart)
            self._show_live()
        else:
            self.push_screen(StartScreen(self.runbooks_dir, self.last_values))

    def start_run(self, values: StartValues, wafer: int | None = None, die_x: int | None = None,
                  die_y: int | None = None) -> None:
        """Called by the start screen; the live screen appears once the runbook checked out."""
        assert values.runbook is not None and self.station is not None
        self.last_values = values
        self._begin(RunRequest(runbook=values.runbook, station=self.station, chip=values.chip,
                               operator=values.operator, db_url=self.db_url, vector_dirs=self.vector_dirs,
                               lot=values.lot or None, wafer=wafer, die_x=die_x, die_y=die_y))

    def _new_live(self) -> LiveRun:
        kwargs = {"clock": self.clock} if self.clock is not None else {}
        return LiveRun(station_rails(self.station), **kwargs)

    def _begin(self, request: RunRequest) -> None:
        if self.run_active:
            self.notify("a run is already going on this bench", severity="warning")
            return
        self.live = self._new_live()
        self.live_screen = None
        self._live_screen_owed = True
        self.handle = RunHandle(request, self.live, on_end=lambda h: self.post_message(RunEnded(h))).start()

    @property
    def run_active(self) -> bool:
        return self.handle is not None and self.handle.active

    def _show_live(self, *, read_only: bool = False) -> None:
        self._live_screen_owed = False
        self._keys_shown_for_active = None
        self.live_screen = LiveScreen(read_only=read_only)
        self.push_screen(self.live_screen)

    # ------------------------------------------------------------------ following another process's run
    def attach(self, run_id: str) -> None:
        """Follow `run_id` through the database, read-only, on the live screen."""
        from bringup.db.engine import database_url
        from bringup.db.queries import resolve_run_id
        from bringup.tui.follow import RunFollower, open_read_only
        from bringup.tui.run_handle import describe_failure

        self._stop_following()
        try:
            engine = open_read_only(database_url(self.db_url))
            full_id = resolve_run_id(engine, run_id)
        except Exception as exc:
            self.notify(f"cannot follow run {run_id}: {describe_failure(exc)}", severity="error", timeout=10)
            if not self.screen_stack[1:]:
                self.push_screen(StartScreen(self.runbooks_dir, self.last_values))
            return
        self.live = self._new_live()
        self.follower = RunFollower(engine, full_id, self.live).start()
        self._show_live(read_only=True)
        self.live_screen.stage = f"reading run {full_id[:12]} from the database…"  # type: ignore[union-attr]

    def _stop_following(self) -> None:
        if self.follower is not None:
            self.follower.stop()
            self.follower.engine.dispose()
            self.follower = None

    # ------------------------------------------------------------------ showing it
    def refresh_live(self) -> None:
        """Fold what happened since the last tick into one redraw of the live screen."""
        if self.live is None:
            return
        if self.live_screen is None:
            if self._live_screen_owed and self.handle is not None and self.handle.validated.is_set():
                self._show_live()  # the runbook checked out: show the station opening
            return
        if not self.live_screen.is_mounted:
            return  # keep the events for the first redraw
        if self.live_screen.running:
            self.live.touch()  # the elapsed time moves even when nothing happens
        try:
            snap = self.live.snapshot()
            if snap is not None:
                self.live_screen.show(snap)
            self._show_pause()
            self._show_keys()
        except NoMatches:  # the app is closing: a tick came after the screen's widgets were removed
            return

    def _show_keys(self) -> None:
        """The run's thread ends a moment after its RunEnded message: `n` becomes possible then."""
        active = self.run_active
        if active != self._keys_shown_for_active and self.live_screen is not None:
            self._keys_shown_for_active = active
            self.live_screen.refresh_keys()

    def _show_pause(self) -> None:
        handle, screen = self.handle, self.live_screen
        if handle is None or screen is None or screen.read_only or not handle.active:
            return
        if handle.control.paused and not handle.control.ending:
            screen.set_note(PAUSE_HELD if handle.control.holding else PAUSE_ASKED)
        elif screen.note in (PAUSE_HELD, PAUSE_ASKED):
            screen.set_note("")

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
                self.live_screen.refresh_bindings()
        if self._quit_when_ended:
            self._exit_with_code()

    def _start_screen(self) -> StartScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, StartScreen)), None)

    # ------------------------------------------------------------------ the operator's keys
    def action_pause(self) -> None:
        if self.run_active and self.handle is not None:
            self.handle.toggle_pause()
            self._show_pause()

    def action_stop(self) -> None:
        if self.run_active and self.handle is not None and self.live_screen is not None:
            self.handle.control.stop()
            self.live_screen.set_note("stopping: the current step finishes, then the rails go down")

    def action_abort(self) -> None:
        if not self.run_active:
            return
        self.push_screen(ConfirmScreen("Abort the run? Every rail goes down now, in reverse order."),
                         lambda yes: self._abort("aborted by the operator") if yes else None)

    def action_next_chip(self) -> None:
        """After a run: back to the start screen with the same runbook, lot and values, serial focused."""
        if self.run_active or self.station is None:
            return
        values = self.last_values
        if self.handle is not None and values.runbook is None:  # the demo started without the start screen
            r = self.handle.request
            values = StartValues(runbook=r.runbook, chip=r.chip, lot=r.lot or "",
                                 wafer="" if r.wafer is None else str(r.wafer), operator=r.operator)
        self.last_values = values
        runbooks_dir = values.runbook.parent if values.runbook is not None else self.runbooks_dir
        while len(self.screen_stack) > 1:
            self.pop_screen()
        # The ended run's screen and events are done with; without this the next redraw tick
        # would show its live screen again over the start screen (the bug `n` once had).
        self.live_screen = None
        self.live = None
        self.push_screen(StartScreen(runbooks_dir, values))

    def action_history(self) -> None:
        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen(self.db_url))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

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
        self._stop_following()
        code = self.exit_code
        self.exit(code, return_code=code)

    def finish_run(self, reason: str = "aborted: the TUI closed during the run",
                   timeout: float | None = None) -> bool:
        """After the UI closed however it closed: a run still going is aborted and waited for."""
        self._stop_following()
        if self.handle is not None and self.handle.active:
            self.handle.abort(reason)
            return self.handle.wait(timeout)
        return True


# ---------------------------------------------------------------------- signals
CLOSING_SIGNALS = {signal.SIGTERM: "terminated (SIGTERM)", signal.SIGHUP: "the terminal went away (SIGHUP)"}
UI_EXIT_GRACE_S = 0.5  # after the safe state, how long the UI gets to restore the terminal
RUN_UNWIND_S = 1.2  # after the abort, how long the run's thread gets to record its end


def terminate(app: BringupApp, reason: str) -> None:
    """On a closing signal, from its own thread: safe state first, then out, within ~2 s.

    The abort powers the bench down on this thread. Then the UI is asked to exit; with its
    terminal gone it may never manage to (writes to a dead tty block or fail), so after a short
    grace the process ends itself — the bench is safe and the run's end is recorded by then.
    """
    app.finish_run(f"aborted: {reason}", timeout=RUN_UNWIND_S)
    threading.Thread(target=_ask_ui_to_exit, args=(app,), daemon=True).start()
    threading.Event().wait(UI_EXIT_GRACE_S)
    os._exit(app.exit_code)


def _ask_ui_to_exit(app: BringupApp) -> None:
    try:
        app.call_from_thread(app._exit_with_code)
    except Exception:
        pass  # the UI is gone already


def _terminate_soon(app: BringupApp, reason: str) -> None:
    """The signal handler itself returns at once; the power-down runs on its own thread."""
    threading.Thread(target=terminate, args=(app, reason), daemon=True, name="terminate").start()


def run_app(app: BringupApp) -> int:
    """Run the TUI in this (main) thread; SIGTERM and SIGHUP abort the run before it exits."""
    previous: dict[int, Any] = {}
    for signum, reason in CLOSING_SIGNALS.items():
        previous[signum] = signal.signal(signum, lambda *_, r=reason: _terminate_soon(app, r))
    try:
        code = app.run()
    finally:
        app.finish_run()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return app.exit_code if code is None else code
