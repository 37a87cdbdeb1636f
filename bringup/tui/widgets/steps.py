"""The runbook's steps with status and a progress bar, updated cell by cell as steps go."""

from __future__ import annotations

from rich.text import Text

from bringup.tui.live_state import StepRow
from bringup.tui.widgets.styles import status_text
from bringup.tui.widgets.table import MeasuredTable

BAR_WIDTH = 10


def progress_text(row: StepRow) -> Text:
    """`███░░░░░░░ 12/40` for a step that counts vectors or sweep points; blank otherwise."""
    if row.total is None and not row.done:
        return Text("")
    if not row.total:
        return Text(f"{row.done}", style="cyan")
    done = min(row.done, row.total)
    filled = round(BAR_WIDTH * done / row.total)
    style = "green" if row.status == "passed" else "cyan"
    return Text.assemble(("█" * filled, style), ("░" * (BAR_WIDTH - filled), "dim"), f" {done}/{row.total}")


class StepTable(MeasuredTable):
    DEFAULT_CSS = "StepTable { height: 1fr; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._shown: dict[int, StepRow] = {}

    def on_mount(self) -> None:
        self.add_column("#", key="index")
        self.add_column("step", key="name")
        self.add_column("status", key="status")
        self.add_column("progress", key="progress")
        self.add_column("message", key="message")

    def show(self, steps: tuple[StepRow, ...]) -> None:
        for row in steps:
            before = self._shown.get(row.index)
            if before == row:
                continue
            key = str(row.index)
            if before is None:
                self.add_row(str(row.index + 1), row.name, status_text(row.status), progress_text(row),
                             row.message, key=key)
            else:
                self.update_cell(key, "name", row.name)
                self.update_cell(key, "status", status_text(row.status))
                self.update_cell(key, "progress", progress_text(row), update_width=True)
                self.update_cell(key, "message", row.message, update_width=True)
            if row.status == "running":
                self.move_cursor(row=self.get_row_index(key))
            self._shown[row.index] = row

    def status_of(self, name: str) -> str | None:
        """The status shown for the step called `name` (for tests and scripting)."""
        return next((row.status for row in self._shown.values() if row.name == name), None)

    def progress_of(self, name: str) -> tuple[int, int | None] | None:
        """(done, total) shown for the step called `name`."""
        return next(((row.done, row.total) for row in self._shown.values() if row.name == name), None)
