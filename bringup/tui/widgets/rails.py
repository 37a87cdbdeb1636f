"""Per-rail volts and amps as the rail monitor samples them, with a current sparkline."""

from __future__ import annotations

from rich.table import Table
from textual.widgets import Static

from bringup.tui.live_state import RailReading

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...], width: int = 24) -> str:
    """The last `width` values as block characters scaled between their own min and max."""
    values = values[-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(_BARS[min(len(_BARS) - 1, int((v - low) / span * (len(_BARS) - 1)))] for v in values)


class RailPanel(Static):
    DEFAULT_CSS = "RailPanel { height: auto; border: round $primary; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("no rail samples yet", **kwargs)  # type: ignore[arg-type]
        self.border_title = "rails"
        self.readings: dict[str, RailReading] = {}

    def show(self, rails: dict[str, RailReading]) -> None:
        if rails == self.readings:
            return
        self.readings = rails
        table = Table(box=None, pad_edge=False, expand=True)
        for column, justify in (("rail", "left"), ("V", "right"), ("A", "right"), ("current", "left")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for name, reading in sorted(rails.items()):
            table.add_row(name, f"{reading.volts:.4f}", f"{reading.amps:.4f}",
                          sparkline(reading.amps_history))
        self.update(table)
