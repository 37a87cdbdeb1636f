"""The live screen: a run as it goes — time, steps with progress, rails, temperature, shmoo,
vectors, limits, console and log — and the keys that steer it.

The screen never reads the bus: the app hands it a LiveSnapshot at most ~10 times a second.
The footer shows only the keys that do something now: p/s/a while a run goes, n/h/q after it.
An attached screen (following a run of another process) is read-only: no p/s/a/n at all.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from bringup.tui.live_state import LiveSnapshot
from bringup.tui.shape import clock_text
from bringup.tui.widgets.console import ConsolePane, LogPane
from bringup.tui.widgets.limits import LimitPanel
from bringup.tui.widgets.rails import RailPanel
from bringup.tui.widgets.shmoo import ShmooPanel
from bringup.tui.widgets.steps import StepTable
from bringup.tui.widgets.styles import STATUS_STYLE
from bringup.tui.widgets.thermal import ThermalPanel
from bringup.tui.widgets.vectors import VectorPanel

_RUNNING_ONLY = {"pause", "stop", "abort"}
_ENDED_ONLY = {"next_chip"}
_LOG_LEVELS = {"debug", "info", "warning", "error"}


class LiveScreen(Screen[None]):
    DEFAULT_CSS = """
    LiveScreen #run-title { height: 1; background: $boost; padding: 0 1; }
    LiveScreen #run-status { height: 1; padding: 0 1; }
    LiveScreen #current { height: 1; padding: 0 1; color: $text-muted; }
    LiveScreen #panes { height: 1fr; }
    LiveScreen #left { width: 3fr; }
    LiveScreen #right { width: 2fr; min-width: 40; }
    LiveScreen #streams { height: 9; }
    LiveScreen #console { width: 3fr; border: round $primary; }
    LiveScreen #log { width: 2fr; border: round $secondary; }
    LiveScreen.-narrow #panes { layout: vertical; }
    LiveScreen.-narrow #left { width: 1fr; height: 1fr; }
    LiveScreen.-narrow #right { width: 1fr; height: 1fr; min-width: 0; }
    LiveScreen.-narrow #streams { height: 6; }
    """
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "pause/resume"),
        Binding("s", "stop", "stop"),
        Binding("a", "abort", "abort"),
        Binding("n", "next_chip", "next chip"),
        Binding("t", "transfers", "LOAD/DUMP"),
        Binding("h", "app.history", "history"),
        Binding("question_mark", "app.help", "help", key_display="?"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__()
        self.read_only = read_only
        self.status = "starting"  # as the run's events say: running, then how it ended
        self.reason = ""
        self.note = ""
        self.stage = "checking the runbook and opening the station…"
        self._elapsed_s = 0.0
        self._eta_s: float | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.stage, id="run-title", markup=False)
        yield Static("", id="run-status")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield StepTable(id="steps")
                yield Static("", id="current", markup=False)
            with VerticalScroll(id="right"):
                yield RailPanel(id="rails")
                yield ThermalPanel(id="thermal")
                yield ShmooPanel(id="shmoo")
                yield VectorPanel(id="vectors")
                yield LimitPanel(id="limits")
        with Horizontal(id="streams"):
            yield ConsolePane(id="console")
            yield LogPane(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "bringup — following a run" if self.read_only else "bringup — live run"
        self._show_status()

    # ------------------------------------------------------------------ keys that fit the state
    @property
    def running(self) -> bool:
        return self.status in ("starting", "running")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _RUNNING_ONLY:
            return self.running and not self.read_only
        if action in _ENDED_ONLY:  # once the run's thread has closed the station too
            return not self.running and not self.read_only and not getattr(self.app, "run_active", False)
        return True

    def action_pause(self) -> None:
        self.app.action_pause()  # type: ignore[attr-defined]

    def action_stop(self) -> None:
        self.app.action_stop()  # type: ignore[attr-defined]

    def action_abort(self) -> None:
        self.app.action_abort()  # type: ignore[attr-defined]

    def action_next_chip(self) -> None:
        self.app.action_next_chip()  # type: ignore[attr-defined]

    def action_transfers(self) -> None:
        self.query_one(ConsolePane).toggle_transfers()

    # ------------------------------------------------------------------ showing a snapshot
    def show(self, snap: LiveSnapshot) -> None:
        was_running = self.running
        if snap.started:
            self.query_one("#run-title", Static).update(_title(snap))
        elif snap.stage:
            self.stage = snap.stage
            self.query_one("#run-title", Static).update(snap.stage)
        if snap.status:
            self.status, self.reason = snap.status, snap.reason
        self._elapsed_s, self._eta_s = snap.elapsed_s, snap.eta_s
        self._show_status()
        current = f"{snap.current_step}   {snap.current_message}" if snap.current_step else ""
        self.query_one("#current", Static).update(current)
        self.query_one(StepTable).show(snap.steps)
        self.query_one(RailPanel).show(snap.rails)
        self.query_one(ThermalPanel).show(snap.thermal)
        self.query_one(ShmooPanel).show(snap.shmoo)
        self.query_one(VectorPanel).show(snap.vectors_passed, snap.vectors_failed, snap.vector_failures)
        self.query_one(LimitPanel).show(snap.limit_failures)
        console, log = self.query_one(ConsolePane), self.query_one(LogPane)
        for source, text in snap.new_lines:
            if source in _LOG_LEVELS:
                log.add(source, text)
            else:
                console.add(source, text)
        if snap.dropped:
            self.query_one(RailPanel).border_subtitle = f"display skipped {snap.dropped} events"
        if was_running != self.running:
            self.refresh_bindings()

    def set_note(self, note: str) -> None:
        """What the operator asked for and the events do not say yet (paused, stopping, aborting)."""
        if note != self.note:
            self.note = note
            self._show_status()

    @property
    def status_line(self) -> str:
        return str(self.query_one("#run-status", Static).content)

    def _show_status(self) -> None:
        finished = not self.running
        shown = self.status if finished or not self.note else self.note
        line = Text.assemble(("status ", "bold"), (shown, STATUS_STYLE.get(shown.split()[0], "bold yellow")))
        if finished and self.reason:
            line.append(f" — {self.reason}")
        line.append(f"   elapsed {clock_text(self._elapsed_s)}")
        if not finished:
            line.append(f"   ETA {clock_text(self._eta_s)}")
        elif self.check_action("next_chip", ()):  # said only once `n` does something
            line.append("   n next chip · h history · q quit", style="dim")
        elif not self.read_only:
            line.append("   closing the station…", style="dim")
        self.query_one("#run-status", Static).update(line)

    def refresh_keys(self) -> None:
        """The run's thread has ended (or started): the footer and the status line's key hint follow."""
        self.refresh_bindings()
        self._show_status()

    def show_failure(self, text: str) -> None:
        """The run could not start (an instrument that would not open, a chip that does not answer)."""
        self.status, self.reason = "error", text
        self._show_status()
        self.refresh_bindings()


def _title(snap: LiveSnapshot) -> str:
    where = []
    if snap.lot:
        where.append(f"lot {snap.lot}")
    if snap.wafer is not None:
        where.append(f"wafer {snap.wafer}")
    if snap.die is not None:
        where.append(f"die ({snap.die[0]},{snap.die[1]})")
    extra = ("  " + " ".join(where)) if where else ""
    return f"run {snap.run_id[:12]}  {snap.runbook} on chip {snap.chip}{extra}  at {snap.station}"
