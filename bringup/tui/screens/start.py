"""The start screen: pick a runbook, type the chip serial, lot, wafer, die and operator, start.

Focus starts on the runbook list, so `q`, `h` and `?` work at once; in a text field they type,
and Escape leaves the field. After a run, `n` comes back here with the same runbook and values
and the serial field focused (its text selected: typing replaces it). Enter on the list moves
the focus to the serial field before any key behind it is handled, so a serial typed or scanned
at once after it arrives whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class StartValues:
    """What the operator typed, to start a run or to prefill the next chip's."""

    runbook: Path | None = None
    chip: str = ""
    lot: str = ""
    wafer: str = ""
    die_x: str = ""
    die_y: str = ""
    operator: str = ""


class FieldError(ValueError):
    """A field the run cannot take; the message says which and how to fix it."""


def _number(text: str, what: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise FieldError(f"{what} {text.strip()!r} is not a whole number — "
                         "type e.g. 3, or leave it empty") from None


_FIELDS = ("chip", "lot", "wafer", "die_x", "die_y", "operator")


class StartScreen(Screen[None]):
    DEFAULT_CSS = """
    StartScreen > Vertical { padding: 0 1; }
    StartScreen #runbooks { height: auto; max-height: 8; }
    StartScreen .fields { height: auto; }
    StartScreen .fields Input { width: 1fr; }
    StartScreen #chip { width: 2fr; }
    StartScreen #start-error { color: $error; height: auto; }
    StartScreen #start-state { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_field", "leave field", show=False),
        # Priority: handled as the key arrives, before the keys queued behind it (a barcode
        # scanner's serial) go to whatever has the focus; the list's own Enter would move the
        # focus only once its message is handled, and the first characters would be lost.
        Binding("enter", "pick_runbook", "pick runbook", show=False, priority=True),
    ]

    def __init__(self, runbooks_dir: Path, values: StartValues | None = None) -> None:
        super().__init__()
        self.runbooks = sorted(runbooks_dir.glob("*.yaml"))
        self.runbooks_dir = runbooks_dir
        self.values = values or StartValues()

    def compose(self) -> ComposeResult:
        v = self.values
        with Vertical():
            yield Label(f"runbook (from {self.runbooks_dir.name}/)")
            yield OptionList(*(Option(path.name, id=str(path)) for path in self.runbooks), id="runbooks")
            with Horizontal(classes="fields"):
                yield Input(v.chip, placeholder="chip serial", id="chip")
                yield Input(v.lot, placeholder="lot", id="lot")
                yield Input(v.wafer, placeholder="wafer", id="wafer", type="integer")
            with Horizontal(classes="fields"):
                yield Input(v.die_x, placeholder="die x", id="die_x", type="integer")
                yield Input(v.die_y, placeholder="die y", id="die_y", type="integer")
                yield Input(v.operator, placeholder="operator", id="operator")
            yield Button("start", id="start", variant="success")
            yield Static("", id="start-state", markup=False)
            yield Static("", id="start-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "bringup — start a run"
        options = self.query_one(OptionList)
        if not self.runbooks:
            self.show_error(f"no runbooks (*.yaml) in {self.runbooks_dir} — start with --runbooks DIR")
            return
        chosen = self.values.runbook
        options.highlighted = self.runbooks.index(chosen) if chosen in self.runbooks else 0
        # set_focus, not focus(): at once, so that keys typed as the screen appears land here
        if self.values.chip:
            self.set_focus(self.query_one("#chip", Input))  # the next chip: type over the last
        else:
            self.set_focus(options)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick_runbook":  # Enter elsewhere submits a field or presses the button
            return isinstance(self.focused, OptionList)
        return True

    def action_pick_runbook(self) -> None:
        """Enter on the runbook list: keep the highlighted runbook, type the serial next."""
        self.set_focus(self.query_one("#chip", Input))  # now, not after a refresh

    def action_leave_field(self) -> None:
        """Escape: leave the text field, so that single keys (q, h, ?) act again."""
        if isinstance(self.focused, Input):
            self.query_one(OptionList).focus()

    @property
    def selected_runbook(self) -> Path | None:
        index = self.query_one(OptionList).highlighted
        return None if index is None or not self.runbooks else self.runbooks[index]

    @property
    def typed(self) -> StartValues:
        text = {name: self.query_one(f"#{name}", Input).value.strip() for name in _FIELDS}
        return StartValues(runbook=self.selected_runbook, **text)

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self._start()

    def on_button_pressed(self, _: Button.Pressed) -> None:
        self._start()

    def on_option_list_option_selected(self, _: OptionList.OptionSelected) -> None:
        self.query_one("#chip", Input).focus()

    def _start(self) -> None:
        values = self.typed
        if values.runbook is None:
            self.show_error("pick a runbook first")
            return
        if not values.chip:
            self.show_error("type the chip serial (as printed on the package), then start")
            self.query_one("#chip", Input).focus()
            return
        try:
            numbers = (_number(values.wafer, "wafer"), _number(values.die_x, "die x"),
                       _number(values.die_y, "die y"))
        except FieldError as exc:
            self.show_error(str(exc))
            return
        if (numbers[1] is None) != (numbers[2] is None):
            self.show_error("give both die x and die y, or neither")
            return
        self.show_error("")
        self.query_one("#start-state", Static).update(f"checking {values.runbook.name}…")
        self.app.start_run(values, *numbers)  # type: ignore[attr-defined]

    def show_error(self, text: str) -> None:
        """A run that could not start: its file:line error, and the screen stays for a fix."""
        self.query_one("#start-state", Static).update("")
        self.query_one("#start-error", Static).update(text)

    @property
    def error_text(self) -> str:
        return str(self.query_one("#start-error", Static).content)
