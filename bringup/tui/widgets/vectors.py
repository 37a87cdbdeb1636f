"""Vector counters and the last failing vectors: where they failed and which bits flipped."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from bringup.tui.live_state import VectorFailure


def _number(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


class VectorPanel(Static):
    DEFAULT_CSS = "VectorPanel { height: auto; border: round $primary; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("no vectors yet", **kwargs)  # type: ignore[arg-type]
        self.border_title = "vectors"
        self.counts = (0, 0)
        self._failures: tuple[VectorFailure, ...] = ()

    def show(self, passed: int, failed: int, failures: tuple[VectorFailure, ...]) -> None:
        if (passed, failed) == self.counts and failures == self._failures:
            return
        self.counts, self._failures = (passed, failed), failures
        counts = Text.assemble(("passed ", ""), (str(passed), "green"), ("   failed ", ""),
                               (str(failed), "bold red" if failed else ""))
        if not failures:
            self.update(counts)
            return
        table = Table(box=None, pad_edge=False, expand=True, title="last failures", title_justify="left")
        for column in ("vector", "V", "MHz", "°C", "first mismatch", "flipped bits"):
            table.add_column(column)
        for f in reversed(failures):  # newest first
            where = "-" if f.first_mismatch_addr is None else f"{f.first_mismatch_addr:#010x}"
            table.add_row(f.vector_name, _number(f.vdd_core_v, ".3f"), _number(f.core_mhz, "g"),
                          _number(f.temperature_c, ".0f"), where, f"{f.flipped_bits:08x}")
        self.update(Group(counts, table))
