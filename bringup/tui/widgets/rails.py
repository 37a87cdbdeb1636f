"""The rails in the station's power-on order: set point, limits, volts, amps and a current sparkline."""

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


def _number(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


class RailPanel(Static):
    DEFAULT_CSS = "RailPanel { height: auto; border: round $primary; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("no rail samples yet", **kwargs)  # type: ignore[arg-type]
        self.border_title = "rails (power-on order)"
        self.readings: tuple[RailReading, ...] = ()

    def show(self, rails: tuple[RailReading, ...]) -> None:
        if rails == self.readings:
            return
        self.readings = rails
        table = Table(box=None, pad_edge=False, expand=True)
        for column, justify in (("rail", "left"), ("set", "right"), ("max V", "right"), ("lim A", "right"),
                                ("V", "right"), ("A", "right"), ("current", "left")):
            table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for r in rails:
            table.add_row(r.name, _number(r.setpoint_v, ".3f"), _number(r.abs_max_v, ".2f"),
                          _number(r.current_limit_a, ".2f"), _number(r.volts, ".4f"), _number(r.amps, ".4f"),
                          sparkline(r.amps_history, width=16))
        self.update(table)

    @property
    def order(self) -> list[str]:
        """The rails as shown, top to bottom (for tests and scripting)."""
        return [r.name for r in self.readings]
