"""The thermal forcer and the die: set point, forcer reading, die temperature, soak and head."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from bringup.tui.live_state import ThermalReading


def _celsius(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} °C"


class ThermalPanel(Static):
    DEFAULT_CSS = "ThermalPanel { height: auto; border: round $primary; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("no forcer readings yet", **kwargs)  # type: ignore[arg-type]
        self.border_title = "temperature"
        self.reading: ThermalReading | None = None

    def show(self, reading: ThermalReading | None) -> None:
        if reading is None or reading == self.reading:
            return
        self.reading = reading
        soak = ("at temperature", "green") if reading.at_temperature else ("settling", "yellow")
        self.update(Text.assemble(
            "set ", (_celsius(reading.setpoint_c), "bold"), "  forcer ", _celsius(reading.forcer_c),
            "  die ", (_celsius(reading.die_c), "bold"), "\n", soak, f"   head {reading.head or '-'}"))
