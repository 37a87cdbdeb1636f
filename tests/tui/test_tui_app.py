"""The TUI driven by keys as a person drives it, against the simulated lab and a real database."""

from __future__ import annotations

from typing import Any

import pytest
from simlab_state import outputs_on
from textual.widgets import Input, OptionList
from tui_bench import TuiBench, make_bench, pilot_test, wait_for

from bringup.tui.app import BringupApp
from bringup.tui.screens.confirm import ConfirmScreen
from bringup.tui.screens.history import HistoryScreen
from bringup.tui.screens.live import LiveScreen
from bringup.tui.screens.start import StartScreen
from bringup.tui.widgets.rails import RailPanel
from bringup.tui.widgets.steps import StepTable

SIZE = (140, 48)


def make_app(bench: TuiBench) -> BringupApp:
    return BringupApp(bench.station, db_url=bench.db_url, runbooks_dir=bench.runbooks)


async def start_from_start_screen(pilot: Any, runbook: str, chip: str = "SIM-0001") -> None:
    """Pick `runbook` in the list with the arrow keys, type the serial, press enter."""
    start = pilot.app.screen
    assert isinstance(start, StartScreen)
    names = [path.name for path in start.runbooks]
    options = start.query_one(OptionList)
    options.focus()
    while options.highlighted != names.index(runbook):
        await pilot.press("down")
    await pilot.press("enter")  # selects it and moves on to the chip serial
    await pilot.press(*chip)
    await pilot.press("enter")


def live(app: BringupApp) -> LiveScreen:
    assert app.live_screen is not None
    return app.live_screen


async def wait_for_step(pilot: Any, step: str, status: str) -> None:
    await wait_for(pilot, lambda: pilot.app.live_screen is not None and pilot.app.live_screen.is_mounted
                   and pilot.app.live_screen.query_one(StepTable).status_of(step) == status,
                   f"step {step!r} to show {status}")


@pilot_test
async def test_a_run_started_from_the_start_screen_shows_its_steps_and_passes(tui_bench: TuiBench):
    app = make_app(tui_bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "power_on.yaml")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveScreen), "the live screen")
        await wait_for(pilot, lambda: live(app).status == "passed" and not app.run_active, "the run to pass")
        steps = live(app).query_one(StepTable)
        for name in ("power_on", "VDD_CORE voltage", "monitor prompt", "power_off"):
            assert steps.status_of(name) == "passed", name
        assert live(app).reason == "every step passed"
        assert app.handle is not None and app.handle.report is not None
        assert str(live(app).query_one("#run-title").content).startswith(f"run {app.handle.report.run_id[:12]}")
        assert outputs_on(tui_bench.lab) == []
        await pilot.press("q")  # nothing is running: q quits at once
    assert app.return_code == 0


@pilot_test
async def test_p_pauses_before_the_next_step_and_p_again_resumes(tui_bench: TuiBench):
    app = make_app(tui_bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "hold.yaml")
        await wait_for_step(pilot, "hold the rails up", "running")
        await pilot.press("p")
        assert app.handle is not None and app.handle.control.paused
        # Asked, not yet held: the wait step runs to its end before the next safe point.
        assert "pausing: takes hold at the next safe point" in live(app).status_line
        await wait_for_step(pilot, "hold the rails up", "passed")
        await wait_for(pilot, lambda: "status paused (p resumes)" in live(app).status_line,
                       "the status to say paused once the pause holds")
        # Paused: the next step does not start; observe a few refreshes of the live screen.
        for _ in range(5):
            await pilot.pause(0.1)
            assert live(app).query_one(StepTable).status_of("power_off") == "pending"
        assert outputs_on(tui_bench.lab), "the rails stay up while paused"
        # The rail monitor keeps sampling while paused: live volts and amps for every rail.
        panel = live(app).query_one(RailPanel)
        await wait_for(pilot, lambda: all(r.volts for r in panel.readings), "samples of the three rails")
        rails = {r.name: r for r in panel.readings}
        assert panel.order == ["VDD_CORE", "VDD_SRAM", "VDD_IO"], "power-on order, not alphabetical"
        assert rails["VDD_CORE"].setpoint_v == 0.80 and rails["VDD_CORE"].abs_max_v is not None
        assert rails["VDD_CORE"].volts == pytest.approx(0.80, abs=0.03)
        assert rails["VDD_IO"].volts == pytest.approx(1.80, abs=0.05)
        assert 0 < rails["VDD_CORE"].amps < 1.5
        await pilot.press("p")
        await wait_for(pilot, lambda: live(app).status == "passed", "the resumed run to pass")
        assert outputs_on(tui_bench.lab) == []


@pilot_test
async def test_a_then_y_aborts_the_run_with_every_output_off(simlab, tmp_path):
    bench = make_bench(simlab, tmp_path, hold_s=60)
    app = make_app(bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "hold.yaml")
        await wait_for_step(pilot, "hold the rails up", "running")
        assert outputs_on(simlab), "the rails are up during the hold"
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the abort confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: live(app).status == "aborted", "the run to end aborted")
        assert live(app).reason == "aborted by the operator"
        assert outputs_on(simlab) == []


@pilot_test
async def test_a_then_n_leaves_the_run_going(tui_bench: TuiBench):
    app = make_app(tui_bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "hold.yaml")
        await wait_for_step(pilot, "hold the rails up", "running")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the abort confirmation")
        await pilot.press("n")
        await wait_for(pilot, lambda: live(app).status == "passed", "the run to pass")


@pilot_test
async def test_q_during_a_run_asks_then_aborts_and_quits_with_the_bench_off(simlab, tmp_path):
    bench = make_bench(simlab, tmp_path, hold_s=60)
    app = make_app(bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "hold.yaml")
        await wait_for_step(pilot, "hold the rails up", "running")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the quit confirmation")
        assert outputs_on(simlab), "asking does not abort yet"
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, "the app to quit")
    assert app.handle is not None and app.handle.wait(10)
    assert str(app.handle.report.status) == "aborted"
    assert app.return_code == 3
    assert outputs_on(simlab) == []


@pilot_test
async def test_h_shows_the_run_just_made_and_its_summary(tui_bench: TuiBench):
    app = make_app(tui_bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "power_on.yaml")
        await wait_for(pilot, lambda: app.live_screen is not None and live(app).status == "passed", "the run")
        # the screen shows the bus's RunFinished; the report (and the recorder's last commit) follows it
        await wait_for(pilot, lambda: not app.handle.active and app.handle.report is not None, "the run's report")
        run_id = app.handle.report.run_id
        await pilot.press("h")
        history = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.runs
                                 and app.screen, "the history of runs")
        newest = history.runs[0]
        assert (newest.id, newest.chip_serial, newest.runbook, newest.status) == (
            run_id, "SIM-0001", "power_on", "passed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: history.detail_rows, "the run's summary")
        assert [row[1] for row in history.detail_rows] == [
            "power_on", "VDD_CORE voltage", "VDD_SRAM voltage", "VDD_IO voltage", "monitor prompt", "power_off"]
        assert "measurements 3 passed, 0 failed" in str(history.query_one("#detail-title").content)
        await pilot.press("f")
        await wait_for(pilot, lambda: "no failing vectors" in str(history.query_one("#detail-title").content),
                       "the chip's failing vectors (none for a power-on run)")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveScreen), "back on the live screen")


@pilot_test
async def test_a_bad_runbook_shows_its_file_and_line_on_the_start_screen(tui_bench: TuiBench):
    app = make_app(tui_bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "bad.yaml")
        start = app.screen
        assert isinstance(start, StartScreen)
        error = await wait_for(pilot, lambda: start.error_text, "the runbook's error")
        assert f"{tui_bench.runbooks / 'bad.yaml'}:" in error
        assert "VDD_CORE" in error and "Traceback" not in error
        assert len(error.splitlines()) == 1
        assert isinstance(app.screen, StartScreen) and app.live_screen is None
    assert outputs_on(tui_bench.lab) == []


@pilot_test
async def test_start_without_a_serial_asks_for_one(tui_bench: TuiBench):
    app = make_app(tui_bench)
    async with app.run_test(size=SIZE) as pilot:
        await start_from_start_screen(pilot, "power_on.yaml", chip="")
        assert "chip serial" in app.screen.error_text
        assert app.handle is None


@pilot_test
async def test_n_after_a_run_goes_to_the_start_screen_with_the_values_kept_and_a_second_run_starts(
        tui_bench: TuiBench):
    app = make_app(tui_bench)
    async with app.run_test(size=SIZE) as pilot:
        start = app.screen
        assert isinstance(start, StartScreen)
        start.query_one("#lot", Input).value = "L7"
        start.query_one("#operator", Input).value = "ana"
        await start_from_start_screen(pilot, "power_on.yaml")
        await wait_for(pilot, lambda: app.live_screen is not None and live(app).status == "passed"
                       and not app.run_active, "the first run to pass")
        first_run = app.handle.report.run_id
        await wait_for(pilot, lambda: live(app).check_action("next_chip", ()), "n to be offered")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen), "the start screen for the next chip")
        # Several redraw ticks later it is still the start screen (the old run's live screen stays gone).
        for _ in range(5):
            await pilot.pause(0.1)
            assert isinstance(app.screen, StartScreen), f"{app.screen} came back over the start screen"
        next_start = app.screen
        assert next_start.selected_runbook == tui_bench.runbooks / "power_on.yaml"
        assert next_start.typed.lot == "L7" and next_start.typed.operator == "ana"
        chip = next_start.query_one("#chip", Input)
        assert app.focused is chip and chip.value == "SIM-0001"
        # The simulated lab has one chip in its socket, and the run checks the serial the chip
        # reports against the one typed: the next run re-types it (a real bench gets a new chip).
        chip.value = ""
        await pilot.press(*"SIM-0001", "enter")
        await wait_for(pilot, lambda: app.handle is not None and app.handle.report is not None
                       and app.handle.report.run_id != first_run and live(app).status == "passed",
                       "the second chip's run to pass")
        assert app.handle.request.chip == "SIM-0001" and app.handle.request.lot == "L7"
        assert app.screen_stack.count(app.live_screen) == 1 and len(app.screen_stack) == 3


@pilot_test
async def test_a_serial_scanned_right_after_picking_the_runbook_loses_no_character(tui_bench: TuiBench):
    """A barcode scanner (or tmux) types faster than a screen settles: every key it sends after
    the Enter that picks the runbook belongs to the serial field, none to the list."""
    from textual import events

    app = make_app(tui_bench)
    async with app.run_test(size=SIZE) as pilot:
        start = app.screen
        assert isinstance(start, StartScreen)
        await wait_for(pilot, lambda: isinstance(start.focused, OptionList), "the runbook list focused")
        for key, character in [("enter", "\r"), *[(c if c.isalnum() else "minus", c) for c in "SIM-0001"]]:
            app.post_message(events.Key(key, character))  # queued at once, as a scanner sends them
        await wait_for(pilot, lambda: start.query_one("#chip", Input).value == "SIM-0001",
                       "the whole serial in its field", 10)
        assert isinstance(start.focused, Input) and start.focused.id == "chip"
