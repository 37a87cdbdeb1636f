"""The help screen: every key of every screen, and what it does."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str, str], ...] = (
    ("anywhere", "?", "this help (Escape or ? closes it)"),
    ("anywhere", "h", "history of recorded runs"),
    ("anywhere", "q", "quit (a run going is aborted first, rails down; asks before)"),
    ("anywhere", "ctrl+q", "quit, even from a text field"),
    ("start", "↑ ↓ Enter", "pick a runbook, then type the chip serial"),
    ("start", "Tab", "next field: serial, lot, wafer, die x, die y, operator"),
    ("start", "Enter", "in a field: start the run"),
    ("start", "Escape", "leave the text field (so single keys act again)"),
    ("live", "p", "pause at the next safe point / resume (says paused once it holds)"),
    ("live", "s", "stop after the current step (normal power-down)"),
    ("live", "a", "abort now: every rail down in reverse order (asks y/n)"),
    ("live", "t", "show or fold the LOAD/DUMP transfer lines in the console"),
    ("live", "n", "after the run: the next chip, same runbook and lot"),
    ("history", "↑ ↓ Enter", "a run's summary; on a running run, follow it live"),
    ("history", "f", "the selected chip's failing vectors by corner"),
    ("history", "r", "reload"),
    ("history", "Escape", "back"),
)


def keys_table() -> Table:
    table = Table(box=None, pad_edge=False, expand=True)
    table.add_column("screen", style="dim", no_wrap=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("does")
    for row in KEYS:
        table.add_row(*row)
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "close"),
        Binding("question_mark", "dismiss", "close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("[b]bringup keys[/b]")
            yield Static(keys_table(), id="keys")
