"""Measurements that fell outside their limits during the run."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from bringup.tui.live_state import LimitFailure


class LimitPanel(Static):
    DEFAULT_CSS = "LimitPanel { height: auto; border: round $primary; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("every measurement within its limits", **kwargs)  # type: ignore[arg-type]
        self.border_title = "out of limits"
        self._failures: tuple[LimitFailure, ...] = ()

    def show(self, failures: tuple[LimitFailure, ...]) -> None:
        if failures == self._failures:
            return
        self._failures = failures
        lines = Text()
        for f in failures:  # Text, not markup: a limit printed as "[None, 0.82]" is not a tag
            lines.append(f"{f.name} = {f.value:.6g} {f.units}", style="red")
            lines.append(f" outside [{f.low}, {f.high}]\n")
        self.update(lines)
