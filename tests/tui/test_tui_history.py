"""The history screen reads the database and never creates one on a machine that has none."""

from __future__ import annotations

from pathlib import Path

from tui_bench import ROOT, pilot_test, wait_for

from bringup.tui.app import BringupApp
from bringup.tui.screens.history import HistoryScreen


def detail_title(screen: HistoryScreen) -> str:
    return str(screen.query_one("#detail-title").content)


async def history_says(app: BringupApp, pilot, words: str) -> HistoryScreen:
    await pilot.press("h")
    return await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and words in detail_title(app.screen)
                          and app.screen, f"the history screen to say {words!r}")


@pilot_test
async def test_h_on_a_fresh_machine_says_there_is_no_database_and_creates_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRINGUP_DB", raising=False)
    app = BringupApp(None, runbooks_dir=ROOT / "runbooks")  # no --db: the default ./lab.db
    async with app.run_test(size=(100, 30)) as pilot:
        history = await history_says(app, pilot, "no database at ./lab.db")
        assert detail_title(history) == "no database at ./lab.db — run `bringup demo` or pass --db"
        assert history.runs == []
    assert list(tmp_path.iterdir()) == [], "browsing the history created files"


@pilot_test
async def test_h_with_a_db_that_is_not_there_names_it(tmp_path: Path):
    missing = tmp_path / "night" / "lab.db"
    app = BringupApp(None, db_url=f"sqlite:///{missing}", runbooks_dir=ROOT / "runbooks")
    async with app.run_test(size=(100, 30)) as pilot:
        await history_says(app, pilot, f"no database at {missing} — run `bringup demo` or pass --db")
    assert not missing.parent.exists()
