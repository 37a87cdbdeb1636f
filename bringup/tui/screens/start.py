"""The start screen: pick a runbook, type the chip serial (and operator), start the run."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option


class StartScreen(Screen[None]):
    DEFAULT_CSS = """
    StartScreen > Vertical { padding: 1 2; }
    StartScreen OptionList { height: auto; max-height: 12; }
    StartScreen Input { width: 40; }
    StartScreen #start-error { color: $error; height: auto; margin-top: 1; }
    StartScreen #start-state { height: auto; margin-top: 1; }
    """

    def __init__(self, runbooks_dir: Path, chip: str = "") -> None:
        super().__init__()
        self.runbooks = sorted(runbooks_dir.glob("*.yaml"))
        self.runbooks_dir = runbooks_dir
        self.chip = chip

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Label(f"runbook ({self.runbooks_dir})")
            yield OptionList(*(Option(path.name, id=str(path)) for path in self.runbooks), id="runbooks")
            with Horizontal(classes="fields"):
                yield Input(self.chip, placeholder="chip serial", id="chip")
                yield Input(placeholder="operator (optional)", id="operator")
            yield Button("start", id="start", variant="success")
            yield Static("", id="start-state", markup=False)
            yield Static("", id="start-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "bringup — start a run"
        options = self.query_one(OptionList)
        if self.runbooks:
            options.highlighted = 0
        else:
            self.show_error(f"no runbooks (*.yaml) in {self.runbooks_dir} — start with --runbooks DIR")

    @property
    def selected_runbook(self) -> Path | None:
        index = self.query_one(OptionList).highlighted
        return None if index is None or not self.runbooks else self.runbooks[index]

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self._start()

    def on_button_pressed(self, _: Button.Pressed) -> None:
        self._start()

    def on_option_list_option_selected(self, _: OptionList.OptionSelected) -> None:
        self.query_one("#chip", Input).focus()

    def _start(self) -> None:
        runbook = self.selected_runbook
        chip = self.query_one("#chip", Input).value.strip()
        if runbook is None:
            self.show_error("pick a runbook first")
            return
        if not chip:
            self.show_error("type the chip serial (as printed on the package), then start")
            self.query_one("#chip", Input).focus()
            return
        self.show_error("")
        self.query_one("#start-state", Static).update(f"checking {runbook.name} and opening the station…")
        operator = self.query_one("#operator", Input).value.strip()
        self.app.start_run(runbook, chip, operator)  # type: ignore[attr-defined]

    def show_error(self, text: str) -> None:
        """A run that could not start: its file:line error, and the screen stays for a fix."""
        self.query_one("#start-state", Static).update("")
        self.query_one("#start-error", Static).update(text)

    @property
    def error_text(self) -> str:
        return str(self.query_one("#start-error", Static).content)
