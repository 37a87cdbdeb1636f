"""Every key of every screen, pressed as a person presses it, each asserting the change relied on.

Start screen: h, q, ?, q in a text field, Escape. Live screen: p/s/a offered only while a run
goes and n only after it, s stops after the current step, t shows and folds the LOAD/DUMP
transfer lines. History: Enter on a running run follows it live (attach).
"""

from __future__ import annotations

import io
from pathlib import Path

from history_db import RUNNING_ID, fill_history, sqlite_url
from replay import ReplayApp, end_events, live_events
from rich.console import Console
from simlab_state import outputs_on
from test_tui_app import live, make_app, start_from_start_screen, wait_for_step
from textual.widgets import Input, OptionList, Static
from tui_bench import ROOT, make_bench, pilot_test, wait_for

from bringup.tui.app import BringupApp
from bringup.tui.screens.confirm import ConfirmScreen
from bringup.tui.screens.help import HelpScreen
from bringup.tui.screens.history import HistoryScreen
from bringup.tui.screens.live import LiveScreen
from bringup.tui.screens.start import StartScreen
from bringup.tui.widgets.console import ConsolePane
from bringup.tui.widgets.steps import StepTable

SIZE = (140, 48)


def start_app(tmp_path: Path) -> BringupApp:
    """The start screen over the shipped runbooks and a history of fixed runs; no bench needed."""
    url = sqlite_url(tmp_path)
    fill_history(url)
    return BringupApp(tmp_path / "station.yaml", db_url=url, runbooks_dir=ROOT / "runbooks")


async def on_start_screen(pilot) -> StartScreen:
    return await wait_for(pilot, lambda: isinstance(pilot.app.screen, StartScreen) and pilot.app.screen.is_mounted
                          and pilot.app.screen, "the start screen")


# ---------------------------------------------------------------------- start screen
@pilot_test
async def test_h_on_the_start_screen_shows_the_history_and_escape_comes_back(tmp_path):
    app = start_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        start = await on_start_screen(pilot)
        await pilot.press("h")
        history = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.runs
                                 and app.screen, "the history of recorded runs")
        assert {run.chip_serial for run in history.runs} == {"SIM-0040", "SIM-0041", "SIM-0042"}
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is start, "back on the start screen")


@pilot_test
async def test_question_mark_opens_the_help_and_question_mark_or_escape_closes_it(tmp_path):
    app = start_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        start = await on_start_screen(pilot)
        for closing_key in ("question_mark", "escape"):
            await pilot.press("question_mark")
            help_screen = await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen,
                                         "the help screen")
            shown = help_text(help_screen)
            for does in ("abort now", "LOAD/DUMP", "the next chip", "follow it live"):
                assert does in shown, does
            await pilot.press(closing_key)
            await wait_for(pilot, lambda: app.screen is start, f"{closing_key} to close the help")


def help_text(screen: HelpScreen) -> str:
    """The key table as the help screen draws it."""
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(screen.query_one("#keys", Static).content)
    return console.export_text()


@pilot_test
async def test_q_on_the_start_screen_quits_at_once(tmp_path):
    app = start_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await on_start_screen(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None, "the app to quit")
    assert app.return_code == 0


@pilot_test
async def test_q_in_the_serial_field_types_a_q_and_escape_leaves_the_field_so_q_quits(tmp_path):
    app = start_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        start = await on_start_screen(pilot)
        await pilot.press("enter")  # picks the highlighted runbook; the serial field takes the focus
        chip = start.query_one("#chip", Input)
        await wait_for(pilot, lambda: app.focused is chip, "the serial field focused")
        await pilot.press("S", "q", "1")
        assert chip.value == "Sq1", "q types into a focused field"
        assert app.return_code is None and app.screen is start
        await pilot.press("escape")
        assert isinstance(app.focused, OptionList), "Escape leaves the text field"
        assert chip.value == "Sq1"
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None, "q to quit once out of the field")
    assert app.return_code == 0


# ---------------------------------------------------------------------- live screen
def offered(screen: LiveScreen) -> set[str]:
    """The live screen's keys the footer shows now (check_action says which do something)."""
    return {binding.key for binding in screen.BINDINGS if screen.check_action(binding.action, ()) is True}


async def replayed(pilot) -> LiveScreen:
    return await wait_for(pilot, lambda: pilot.app.live_screen is not None and pilot.app.live_screen.is_mounted
                          and pilot.app.live_screen.status != "starting" and pilot.app.live_screen,
                          "the replayed run drawn")


@pilot_test
async def test_p_s_a_are_offered_while_a_run_goes_and_n_only_after_it():
    async with ReplayApp(live_events()).run_test(size=SIZE) as pilot:
        screen = await replayed(pilot)
        assert {"p", "s", "a"} <= offered(screen) and "n" not in offered(screen)
    app = ReplayApp(end_events())
    async with app.run_test(size=SIZE) as pilot:
        screen = await replayed(pilot)
        assert "n" in offered(screen) and not {"p", "s", "a"} & offered(screen)
        await pilot.press("a", "p", "s")  # after the end they do nothing: no question, no note
        await pilot.pause(0.2)
        assert app.screen is screen and not isinstance(app.screen, ConfirmScreen)
        assert screen.status == "failed" and screen.note == ""


@pilot_test
async def test_t_shows_the_load_dump_transfer_lines_and_t_again_folds_them():
    async with ReplayApp(live_events()).run_test(size=SIZE) as pilot:
        screen = await replayed(pilot)
        console = screen.query_one(ConsolePane)
        await wait_for(pilot, lambda: console.folded, "the console to fold the transfers")
        folded = list(console.shown_text)
        assert not any(line.startswith(("> LOAD", "> DUMP")) for line in folded)
        assert "> RUN 80000000 20000" in folded and "< OK halted steps=812" in folded
        assert console.border_subtitle == "40 LOAD/DUMP lines folded (t shows)"  # 8 × (LOAD, OK, DUMP, hex, OK)
        await pilot.press("t")
        shown = list(console.shown_text)
        assert "> LOAD 80000000 00100513 05d00890" in shown and "< 00000001 0000002a" in shown
        assert shown.index("> LOAD 80000000 00100513 05d00890") < shown.index("> RUN 80000000 20000"), "in order"
        assert len(console.lines) == len(shown) and console.border_subtitle == "t folds LOAD/DUMP"
        await pilot.press("t")
        assert console.shown_text == folded and len(console.lines) == len(folded)


@pilot_test
async def test_s_stops_after_the_current_step_with_the_rails_down(simlab, tmp_path):
    bench = make_bench(simlab, tmp_path, hold_s=3)
    app = make_app(bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "hold.yaml")
        await wait_for_step(pilot, "hold the rails up", "running")
        await pilot.press("s")
        assert app.handle is not None and app.handle.control.stop_reason == "stopped by the operator"
        assert "stopping: the current step finishes" in live(app).status_line
        await wait_for(pilot, lambda: not live(app).running and not app.run_active, "the run to end", 30)
        steps = live(app).query_one(StepTable)
        assert steps.status_of("hold the rails up") == "passed", "the current step ran to its end"
        assert steps.status_of("power_off") != "passed", "no step after it ran"
        assert "stopped by the operator" in live(app).reason
    assert outputs_on(simlab) == []


# ---------------------------------------------------------------------- history
async def open_history(pilot) -> HistoryScreen:
    """From the start screen, h: the history screen once it lists the recorded runs."""
    await on_start_screen(pilot)
    await pilot.press("h")
    return await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen) and pilot.app.screen.runs
                          and pilot.app.screen, "the history of recorded runs")


@pilot_test
async def test_enter_on_a_running_run_in_the_history_follows_it_read_only(tmp_path):
    url = sqlite_url(tmp_path)
    fill_history(url, with_running=True)
    app = BringupApp(None, db_url=url, runbooks_dir=ROOT / "runbooks")
    async with app.run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        ids = [run.id for run in history.runs]
        while history.selected_run.id != RUNNING_ID:
            await pilot.press("down" if ids.index(RUNNING_ID) > ids.index(history.selected_run.id) else "up")
        await pilot.press("enter")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.is_mounted
                                and app.screen, "the live screen following the run")
        assert screen.read_only and app.follower is not None and app.follower.run_id == RUNNING_ID
        # "reading run … from the database" also names the run: wait for the chip, which only the title has
        await wait_for(pilot, lambda: "chip SIM-0043" in str(screen.query_one("#run-title").content),
                       "the followed run's title")
        assert f"run {RUNNING_ID[:12]}" in str(screen.query_one("#run-title").content)
        await wait_for(pilot, lambda: screen.query_one(StepTable).status_of("shmoo at 25 °C") == "running",
                       "its steps as recorded")
        assert not {"p", "s", "a", "n"} & offered(screen), "following is read-only"


@pilot_test
async def test_the_history_follows_a_running_run_to_its_end_without_r_and_keeps_the_selection(tmp_path):
    url = sqlite_url(tmp_path)
    fill_history(url, with_running=True)
    app = BringupApp(None, db_url=url, runbooks_dir=ROOT / "runbooks")
    async with app.run_test(size=SIZE) as pilot:
        history = await open_history(pilot)
        status_of = {run.id: run.status for run in history.runs}
        assert status_of[RUNNING_ID] == "running"
        await pilot.press("down")  # the operator looks at another run meanwhile
        looked_at = history.selected_run.id
        assert looked_at != history.runs[0].id

        finish_on_another_station(url, RUNNING_ID)

        await wait_for(pilot, lambda: {r.id: r.status for r in history.runs}[RUNNING_ID] == "passed",
                       "the history to show the run's end (no key pressed)")
        assert history.selected_run.id == looked_at, "a refresh keeps the operator's place"


def finish_on_another_station(url: str, run_id: str) -> None:
    from bringup.db.engine import make_engine
    from bringup.db.recorder import Recorder
    from bringup.events import RunFinished, RunStatus

    engine = make_engine(url)
    with Recorder(engine, stale_after_s=None) as recorder:
        recorder.handle(RunFinished(run_id=run_id, status=RunStatus.PASSED, reason="every step passed"))
    engine.dispose()


@pilot_test
async def test_a_redraw_tick_while_the_app_closes_does_not_crash_it():
    """Quitting removes the screen's widgets while the 10 Hz tick may still fire (seen: NoMatches)."""
    app = ReplayApp(live_events())
    async with app.run_test(size=SIZE) as pilot:
        screen = await replayed(pilot)
        await screen.query_one("#run-title").remove()  # as the teardown does, widget by widget
        app.live.touch()
        app.refresh_live()
