"""A DataTable that never shows cells cut to the widths of its headers.

Textual measures a DataTable's column widths when the table is idle, after rows are added. A
frame drawn in between (the terminal repaints whenever it likes; a loaded machine makes the
gap longer) renders cells at the header widths and caches them, and the cache is not dropped
when the measured widths arrive: the first step stayed "forc" for "forcer to 25 °C" until
something else changed that row. Dropping the cached cells when the table's measured width
changes makes what it shows depend on its data only, not on when a frame happened to be drawn.
"""

from __future__ import annotations

from typing import Any

from textual.geometry import Size
from textual.widgets import DataTable


class MeasuredTable(DataTable[Any]):
    def watch_virtual_size(self, old: Size, new: Size) -> None:
        if old.width != new.width:
            self._clear_caches()  # Textual's own cache reset (it does the same on cell padding changes)
            self.refresh()
