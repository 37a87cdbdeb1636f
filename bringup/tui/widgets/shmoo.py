"""The shmoo map filling in: one volts × MHz grid per temperature, from SweepPoint events.

Rows are volts (highest at the top), columns MHz (lowest at the left). Each outcome has its
own glyph and colour so that the map reads without colour too.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from bringup.tui.live_state import ShmooMap

GLYPHS = {"pass": ("●", "green"), "fail": ("✕", "bold red"), "hang": ("H", "bold magenta"),
          "inferred": ("○", "dim")}
PENDING = ("·", "dim")
LEGEND = "● pass  ✕ fail  H hang  ○ inferred  · not yet"


def shmoo_text(shmoo: ShmooMap) -> Text:
    out = Text()
    for temperature in sorted(shmoo, key=lambda t: (t is None, t)):
        cells = shmoo[temperature]
        volts = sorted({v for v, _ in cells}, reverse=True)
        mhz = sorted({f for _, f in cells})
        out.append("at " + ("-" if temperature is None else f"{temperature:g} °C") + "\n", style="bold")
        out.append("       " + " ".join(f"{f:>4g}" for f in mhz) + " MHz\n", style="dim")
        for v in volts:
            out.append(f"{v:6.3f} ")
            for f in mhz:
                glyph, style = GLYPHS.get(cells.get((v, f), ""), PENDING)
                out.append(f"{glyph:>4} ", style=style)
            out.append("\n")
    out.append(LEGEND, style="dim")
    return out


class ShmooPanel(Static):
    DEFAULT_CSS = "ShmooPanel { height: auto; border: round $primary; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("no sweep in this run yet", **kwargs)  # type: ignore[arg-type]
        self.border_title = "shmoo (V × MHz)"
        self.shmoo: ShmooMap = {}

    def show(self, shmoo: ShmooMap) -> None:
        if not shmoo or shmoo == self.shmoo:
            return
        self.shmoo = shmoo
        self.update(shmoo_text(shmoo))

    @property
    def points(self) -> int:
        """How many points the map shows (for tests and scripting)."""
        return sum(len(cells) for cells in self.shmoo.values())
