"""The live screen: a run as it goes — steps, rails, vectors, limits, console — and its controls.

The screen never reads the bus: the app hands it a LiveSnapshot at most ~10 times a second.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, RichLog, Static

from bringup.tui.live_state import LiveSnapshot
from bringup.tui.widgets.limits import LimitPanel
from bringup.tui.widgets.rails import RailPanel
from bringup.tui.widgets.steps import StepTable
from bringup.tui.widgets.styles import STATUS_STYLE
from bringup.tui.widgets.vectors import VectorPanel

_LINE_STYLE = {"tx": "cyan", "rx": "", "info": "dim", "warning": "yellow", "error": "bold red"}


class LiveScreen(Screen[None]):
    DEFAULT_CSS = """
    LiveScreen #run-title { height: 1; background: $boost; padding: 0 1; }
    LiveScreen #run-status { height: auto; padding: 0 1; }
    LiveScreen #current { height: auto; padding: 0 1; color: $text-muted; }
    LiveScreen #panes { height: 1fr; }
    LiveScreen #left { width: 3fr; }
    LiveScreen #right { width: 2fr; }
    LiveScreen #console { height: 10; border: round $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "app.pause", "pause/resume"),
        Binding("s", "app.stop", "stop"),
        Binding("a", "app.abort", "abort"),
        Binding("h", "app.history", "history"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status = "starting"  # as the run's events say: running, then how it ended
        self.reason = ""
        self.note = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("starting the run…", id="run-title", markup=False)
        yield Static("", id="run-status")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield StepTable(id="steps")
                yield Static("", id="current", markup=False)
            with VerticalScroll(id="right"):
                yield RailPanel(id="rails")
                yield VectorPanel(id="vectors")
                yield LimitPanel(id="limits")
        console = RichLog(id="console", max_lines=500, wrap=False, markup=False)
        console.border_title = "console and log"
        yield console
        yield Footer()

    def on_mount(self) -> None:
        self.title = "bringup — live run"

    def show(self, snap: LiveSnapshot) -> None:
        if snap.started:
            self.query_one("#run-title", Static).update(
                f"run {snap.run_id}   {snap.runbook} on chip {snap.chip}")
        if snap.status:
            self.status, self.reason = snap.status, snap.reason
        self._show_status()
        current = f"{snap.current_step}   {snap.current_message}" if snap.current_step else ""
        self.query_one("#current", Static).update(current)
        self.query_one(StepTable).show(snap.steps)
        self.query_one(RailPanel).show(snap.rails)
        self.query_one(VectorPanel).show(snap.vectors_passed, snap.vectors_failed, snap.vector_failures)
        self.query_one(LimitPanel).show(snap.limit_failures)
        console = self.query_one(RichLog)
        for source, text in snap.new_lines:
            prefix = {"tx": "> ", "rx": "< "}.get(source, f"[{source}] ")
            console.write(Text(prefix + text, style=_LINE_STYLE.get(source, "")))
        if snap.dropped:
            self.query_one("#rails", RailPanel).border_subtitle = f"display skipped {snap.dropped} events"

    def set_note(self, note: str) -> None:
        """What the operator asked for and the events do not say yet (paused, stopping, aborting)."""
        self.note = note
        self._show_status()

    def _show_status(self) -> None:
        finished = self.status not in ("starting", "running")
        shown = self.status if finished or not self.note else self.note
        line = Text.assemble(("status ", "bold"), (shown, STATUS_STYLE.get(shown, "bold yellow")))
        if finished and self.reason:
            line.append(f" — {self.reason}")
        if finished:
            line.append("   (q quits, h shows history)", style="dim")
        self.query_one("#run-status", Static).update(line)

    def show_failure(self, text: str) -> None:
        """The run could not start (a bad runbook, an instrument that would not open)."""
        self.status, self.reason = "error", text
        self._show_status()
