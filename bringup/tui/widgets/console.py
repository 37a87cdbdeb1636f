"""The chip's console with the memory transfer traffic (LOAD/DUMP and their hex) folded away.

A vector run is mostly `LOAD` lines of program words and `DUMP` replies of signature words;
shown, they bury the monitor's own lines. Folded lines are counted, kept, and shown again
(in place, in order) when the operator toggles them.
"""

from __future__ import annotations

import re
from collections import deque

from rich.text import Text
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


class ConsolePane(RichLog):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=KEPT_LINES, wrap=False, markup=False, **kwargs)  # type: ignore[arg-type]
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
        self.clear()
        for direction, text, transfer in self._lines:
            if self.show_transfers or not transfer:
                self.write(_styled(direction, text))
        self._title()

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


class LogPane(RichLog):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=KEPT_LINES, wrap=True, markup=False, **kwargs)  # type: ignore[arg-type]
        self.border_title = "log"

    def add(self, level: str, text: str) -> None:
        self.write(Text(f"[{level}] {text}", style=_LEVEL_STYLE.get(level, "")))
