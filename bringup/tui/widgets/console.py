"""The chip's console with the memory transfer traffic (LOAD/DUMP and their hex) folded away,
and the run's log beside it.

A vector run is mostly `LOAD` lines of program words and `DUMP` replies of signature words;
shown, they bury the monitor's own lines. Folded lines are counted, kept, and shown again
(in place, in order) when the operator toggles them.

A RichLog renders a line at the width its pane has when the line is written and never again.
Both panes keep their lines and render them again when their width changes (a resized
terminal, the first layout), so what they show depends on their size, not on whether a line
arrived before or after the layout settled; their scrollbar gutter is always reserved so a
scrollbar appearing does not change that width either.
"""

from __future__ import annotations

import re
from collections import deque

from rich.text import Text
from textual import events
from textual.widgets import RichLog

KEPT_LINES = 2000
_HEX_WORDS = re.compile(r"^[0-9a-fA-F]{8}( [0-9a-fA-F]{8})*$")
_TRANSFER_COMMANDS = ("LOAD ", "DUMP ")


class TransferFilter:
    """Tells transfer lines from the rest: a LOAD/DUMP command, its hex data and its OK."""

    def __init__(self) -> None:
        self._in_transfer = False

    def is_transfer(self, direction: str, text: str) -> bool:
        if direction == "tx":
            self._in_transfer = text.startswith(_TRANSFER_COMMANDS)
            return self._in_transfer
        if self._in_transfer and (_HEX_WORDS.match(text) or text == "OK" or text.startswith("OK ")):
            return True
        self._in_transfer = False
        return False


class ReflowingLog(RichLog):
    """A RichLog that renders its kept lines again whenever its content width changes."""

    DEFAULT_CSS = "ReflowingLog { scrollbar-gutter: stable; }"

    def __init__(self, *, wrap: bool, **kwargs: object) -> None:
        super().__init__(max_lines=KEPT_LINES, wrap=wrap, markup=False, **kwargs)  # type: ignore[arg-type]
        self.rendered_width = 0  # the content width the shown lines were rendered at

    def shown_lines(self) -> list[Text]:
        """The lines to show now, in order (subclasses say which of their kept lines)."""
        raise NotImplementedError

    def on_resize(self, _: events.Resize) -> None:
        if self.scrollable_content_region.width != self.rendered_width:
            self.rerender()

    def rerender(self) -> None:
        self.clear()
        self.rendered_width = self.scrollable_content_region.width
        for line in self.shown_lines():
            self.write(line)

    @property
    def settled(self) -> bool:
        """Every line is rendered at the pane's present width (for tests: the screen is drawn)."""
        return (not self._deferred_renders and self.rendered_width == self.scrollable_content_region.width
                and self.scroll_y == self.max_scroll_y)


class ConsolePane(ReflowingLog):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(wrap=False, **kwargs)
        self.show_transfers = False
        self.folded = 0
        self._lines: deque[tuple[str, str, bool]] = deque(maxlen=KEPT_LINES)
        self._filter = TransferFilter()
        self._title()

    def add(self, direction: str, text: str) -> None:
        transfer = self._filter.is_transfer(direction, text)
        self._lines.append((direction, text, transfer))
        if transfer and not self.show_transfers:
            self.folded += 1
            self._title()
        else:
            self.write(_styled(direction, text))

    def toggle_transfers(self) -> None:
        self.show_transfers = not self.show_transfers
        self.rerender()
        self._title()

    def shown_lines(self) -> list[Text]:
        return [_styled(direction, text) for direction, text, transfer in self._lines
                if self.show_transfers or not transfer]

    def _title(self) -> None:
        self.border_title = "console"
        self.border_subtitle = ("t folds LOAD/DUMP" if self.show_transfers
                                else f"{self.folded} LOAD/DUMP lines folded (t shows)")

    @property
    def shown_text(self) -> list[str]:
        """The lines as shown now (for tests and scripting)."""
        return [f"{'>' if d == 'tx' else '<'} {t}" for d, t, transfer in self._lines
                if self.show_transfers or not transfer]


def _styled(direction: str, text: str) -> Text:
    return Text(("> " if direction == "tx" else "< ") + text, style="cyan" if direction == "tx" else "")


_LEVEL_STYLE = {"info": "", "debug": "dim", "warning": "yellow", "error": "bold red"}


class LogPane(ReflowingLog):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(wrap=True, **kwargs)
        self.border_title = "log"
        self._lines: deque[Text] = deque(maxlen=KEPT_LINES)

    def add(self, level: str, text: str) -> None:
        line = Text(f"[{level}] {text}", style=_LEVEL_STYLE.get(level, ""))
        self._lines.append(line)
        self.write(line)

    def shown_lines(self) -> list[Text]:
        return list(self._lines)
