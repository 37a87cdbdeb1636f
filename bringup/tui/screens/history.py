"""The history screen: recorded runs, one run's summary, failing vectors by corner for its chip.

Queries run on worker threads (a shared PostgreSQL may be slow to answer); only the tables are
touched on the UI thread.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from bringup.tui.widgets.styles import status_text
from bringup.tui.widgets.table import MeasuredTable

REFRESH_S = 2.0  # while a listed run is still going


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


class HistoryScreen(Screen[None]):
    DEFAULT_CSS = """
    HistoryScreen #runs { height: 1fr; width: 1fr; }
    HistoryScreen #detail { width: 1fr; }
    HistoryScreen #detail-title { height: auto; padding: 0 1; background: $boost; }
    HistoryScreen #detail { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("f", "failing", "failing vectors of this chip"),
        Binding("r", "reload", "reload"),
    ]

    def __init__(self, db_url: str | None) -> None:
        super().__init__()
        self.db_url = db_url
        self.runs: list[Any] = []
        self._engine: Any = None

    def compose(self) -> ComposeResult:
        yield MeasuredTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("Enter: the run's summary (a running run: follow it)   f: its chip's failing vectors",
                     id="detail-title", markup=False)
        yield MeasuredTable(id="detail", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.title = "bringup — history"
        runs = self.query_one("#runs", DataTable)
        runs.add_columns("run", "chip", "runbook", "status", "started", "reason")
        self.action_reload()
        self.set_interval(REFRESH_S, self._refresh_while_running)

    def _refresh_while_running(self) -> None:
        """A run still going (here or on another station) ends, or new ones start, without r."""
        if any(run.status == "running" for run in self.runs):
            self.action_reload()

    def on_unmount(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def engine(self) -> Any:
        """Read-only: browsing the history never creates (or migrates) a database."""
        if self._engine is None:
            from bringup.tui.database import open_read_only

            self._engine = open_read_only(self.db_url)
        return self._engine

    @property
    def selected_run(self) -> Any:
        table = self.query_one("#runs", DataTable)
        return self.runs[table.cursor_row] if self.runs and 0 <= table.cursor_row < len(self.runs) else None

    # ------------------------------------------------------------------ loading (worker threads)
    @work(thread=True, exclusive=True, group="runs")
    def action_reload(self) -> None:
        from bringup.db.queries import list_runs

        runs = self._query(lambda: list_runs(self.engine()))
        if runs is not None:
            self.app.call_from_thread(self._show_runs, runs)

    @work(thread=True, exclusive=True, group="detail")
    def load_summary(self, run_id: str) -> None:
        from bringup.db.queries import run_summary

        summary = self._query(lambda: run_summary(self.engine(), run_id))
        if summary is not None:
            self.app.call_from_thread(self._show_summary, summary)

    @work(thread=True, exclusive=True, group="detail")
    def load_failing(self, chip: str) -> None:
        from bringup.db.queries import failing_vectors

        rows = self._query(lambda: failing_vectors(self.engine(), chip=chip))
        if rows is not None:
            self.app.call_from_thread(self._show_failing, chip, rows)

    def _query(self, query: Any) -> Any:
        try:
            return query()
        except Exception as exc:  # a database that does not answer is a message, not a crash
            from bringup.tui.database import NoDatabaseError
            from bringup.tui.run_handle import describe_failure

            text = str(exc) if isinstance(exc, NoDatabaseError) else f"database: {describe_failure(exc)}"
            self.app.call_from_thread(self._show_detail_title, text)
            return None

    # ------------------------------------------------------------------ showing (UI thread)
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        run = self.selected_run
        if event.data_table.id != "runs" or run is None:
            return
        if run.status == "running":  # still going (here or on another station): follow it live
            self.app.attach(run.id)  # type: ignore[attr-defined]
        else:
            self.load_summary(run.id)

    def action_failing(self) -> None:
        if self.selected_run is not None:
            self.load_failing(self.selected_run.chip_serial)

    def _show_runs(self, runs: list[Any]) -> None:
        from bringup.history import when

        first_load, selected = not self.runs, self.selected_run
        self.runs = runs
        table = self.query_one("#runs", DataTable)
        table.clear()
        for r in runs:
            table.add_row(r.id[:12], r.chip_serial, r.runbook, status_text(r.status), when(r.started_at),
                          r.reason, key=r.id)
        if not runs:
            self._show_detail_title("no runs recorded yet")
        ids = [r.id for r in runs]
        if selected is not None and selected.id in ids:  # a reload keeps the operator's place
            table.move_cursor(row=ids.index(selected.id))
        if first_load:
            table.focus()

    def _show_summary(self, summary: Any) -> None:
        r = summary.run
        self._show_detail_title(
            f"run {r.id}: {r.runbook} on {r.chip_serial}, {r.status} ({r.reason}) — measurements "
            f"{summary.measurements_passed} passed, {summary.measurements_failed} failed; vectors "
            f"{summary.vectors_passed} passed, {summary.vectors_failed} failed")
        detail = self._reset_detail("#", "step", "kind", "status", "message")
        for s in summary.steps:
            detail.add_row(str(s.index + 1), s.name, s.kind, status_text(s.status), s.message)

    def _show_failing(self, chip: str, rows: list[Any]) -> None:
        self._show_detail_title(f"failing vectors of chip {chip} by corner" if rows
                                else f"chip {chip}: no failing vectors recorded")
        detail = self._reset_detail("vector", "MHz", "°C", "V", "failures", "runs")
        for f in rows:
            detail.add_row(f.vector_name, _cell(f.core_mhz), _cell(f.temperature_c), _cell(f.vdd_core_v),
                           str(f.failures), str(f.runs))

    def _reset_detail(self, *columns: str) -> DataTable[Any]:
        detail = self.query_one("#detail", DataTable)
        detail.clear(columns=True)
        detail.add_columns(*columns)
        return detail

    def _show_detail_title(self, text: str) -> None:
        self.query_one("#detail-title", Static).update(text)

    @property
    def detail_rows(self) -> list[list[str]]:
        """What the detail table shows, as text (for tests and scripting)."""
        detail = self.query_one("#detail", DataTable)
        return [[str(cell) for cell in detail.get_row_at(i)] for i in range(detail.row_count)]
