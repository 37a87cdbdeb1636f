"""The four screens at 80×24, 100×30 and 160×48, compared with committed SVG snapshots.

Every screen is fed fixed data (a recorded event sequence with fixed timestamps and a fixed
"now", a database of fixed runs), so a snapshot changes only when the screen does. Update them
after a deliberate change with `pytest tests/tui/test_tui_snapshots.py --snapshot-update` and
look at the report before committing.
"""

from __future__ import annotations

import time

import pytest
from history_db import fill_history, sqlite_url
from replay import ReplayApp, end_events, live_events
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


async def settled(pilot):
    """Let pending layout, refreshes and log writes land before the screenshot."""
    for _ in range(3):
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)


async def replayed(pilot):
    """Wait until the live screen has drawn the replayed run (the UI is slow on a loaded machine)."""
    deadline = time.monotonic() + 20
    while not (pilot.app.live_screen is not None and pilot.app.live_screen.is_mounted
               and pilot.app.live_screen.status != "starting"):
        assert time.monotonic() < deadline, "the replayed run was not drawn"
        await pilot.pause(0.05)
    await settled(pilot)


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
        deadline = time.monotonic() + 20
        while not (isinstance(pilot.app.screen, HistoryScreen) and pilot.app.screen.runs):
            assert time.monotonic() < deadline, "the history did not load"
            await pilot.pause(0.05)
        await settled(pilot)

    app = BringupApp(None, db_url=url, runbooks_dir=ROOT / "runbooks")
    assert snap_compare(app, terminal_size=size, run_before=loaded)
