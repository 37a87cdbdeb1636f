"""The four screens at 80×24, 100×30 and 160×48, compared with committed SVG snapshots.

Every screen is fed fixed data (a recorded event sequence with fixed timestamps and a fixed
"now", a database of fixed runs), so a snapshot changes only when the screen does. Update them
after a deliberate change with `pytest tests/tui/test_tui_snapshots.py --snapshot-update` and
look at the report before committing.

A snapshot is taken only once the screen is drawn from all its data, judged by conditions and
never by time: on a loaded machine a fixed pause ends before Textual has measured the tables'
columns (it does that when idle) or scrolled the logs, and the screenshot caught column widths
of the headers alone. `drawn` waits for the data, the measured tables, the logs rendered at their
final width, and then for two screenshots in a row to agree.
"""

from __future__ import annotations

import time

import pytest
from history_db import fill_history, sqlite_url
from replay import ReplayApp, end_events, live_events
from textual.widgets import DataTable
from tui_bench import ROOT

from bringup.tui.app import BringupApp
from bringup.tui.screens.history import HistoryScreen

SIZES = [(80, 24), (100, 30), (160, 48)]


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """History shows local times: make them the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_start_screen(snap_compare, size):
    app = BringupApp(ROOT / "runbooks" / "stations" / "none.yaml", runbooks_dir=ROOT / "runbooks")
    assert snap_compare(app, terminal_size=size)


DRAWN_WITHIN_S = 30.0  # a bound for a loaded machine; an idle one takes well under a second


def tables_measured(screen) -> bool:
    """Every table has its rows measured (column widths and height are computed when idle)."""
    return all(not table.columns  # a table without columns yet is drawn empty
               or table.virtual_size.height == table.row_count + (table.header_height if table.show_header else 0)
               for table in screen.query(DataTable))


def logs_rendered(screen) -> bool:
    from bringup.tui.widgets.console import ReflowingLog

    return all(log.settled for log in screen.query(ReflowingLog))


async def drawn(pilot, data_loaded) -> None:
    """Wait until `data_loaded()`, the tables and logs are drawn from it, and the screen holds still."""
    deadline = time.monotonic() + DRAWN_WITHIN_S
    previous = None
    while True:
        await pilot.pause()
        screen = pilot.app.screen
        if data_loaded() and tables_measured(screen) and logs_rendered(screen):
            await pilot.wait_for_scheduled_animations()
            shot = pilot.app.export_screenshot()
            if shot == previous:
                return
            previous = shot
        assert time.monotonic() < deadline, f"the screen was not drawn within {DRAWN_WITHIN_S} s"


async def replayed(pilot):
    """The live screen has drawn the replayed run."""
    app = pilot.app
    await drawn(pilot, lambda: app.live_screen is not None and app.live_screen.is_mounted
                and app.screen is app.live_screen and app.live_screen.status != "starting")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_live_screen(snap_compare, size):
    assert snap_compare(ReplayApp(live_events()), terminal_size=size, run_before=replayed)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_end_screen(snap_compare, size):
    assert snap_compare(ReplayApp(end_events()), terminal_size=size, run_before=replayed)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_history_screen(snap_compare, size, tmp_path):
    url = sqlite_url(tmp_path)
    fill_history(url)

    async def loaded(pilot):
        await pilot.press("h")
        await drawn(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen) and pilot.app.screen.runs
                    and pilot.app.screen.query_one("#runs", DataTable).row_count == len(pilot.app.screen.runs))

    app = BringupApp(None, db_url=url, runbooks_dir=ROOT / "runbooks")
    assert snap_compare(app, terminal_size=size, run_before=loaded)
