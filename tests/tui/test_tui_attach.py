"""Attach: the TUI follows a run that another process records, through the database, read-only.

The run is a real `bringup run` in a second process against the simulated lab; the follower
reads its rows from SQLite (polling) or PostgreSQL (LISTEN, with polling as the fallback).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_until
from sqlalchemy import text
from tui_bench import make_bench, pilot_test, wait_for

from bringup.db.engine import make_engine
from bringup.db.recorder import Recorder
from bringup.events import (
    Conditions,
    Log,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    SweepOutcome,
    SweepPoint,
    ThermalSample,
)
from bringup.tui.app import BringupApp
from bringup.tui.follow import NOTIFY_CHANNEL, AttachError, RunFollower, open_read_only
from bringup.tui.live_state import LiveRun, ThermalReading
from bringup.tui.screens.live import LiveScreen
from bringup.tui.widgets.rails import RailPanel
from bringup.tui.widgets.steps import StepTable
from bringup.tui.widgets.thermal import ThermalPanel


def _db_conftest():
    """tests/db's PostgreSQL URL and schema fixture, loaded under its own name (conftest is ambiguous)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "db" / "conftest.py"
    spec = importlib.util.spec_from_file_location("bringup_tests_db_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_DB = _db_conftest()
PG_URL = _DB.PG_URL

BRINGUP = Path(sys.executable).parent / "bringup"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL that a second process can open too: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lab.db'}"
        return
    with _DB.fresh_postgres_schema() as schema:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"


def start_run_in_another_process(bench, runbook: str, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BRINGUP), "run", str(bench.runbooks / runbook), "--station", str(bench.station),
                             "--chip", "SIM-0001", "--lot", "L9", "--db", url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def recorded_run_id(url: str) -> str | None:
    engine = make_engine(url, upgrade=False)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT id FROM run")).scalar()
    except Exception:
        return None  # the other process has not created the schema yet
    finally:
        engine.dispose()


@pilot_test
async def test_attach_follows_a_run_of_another_process_to_its_end_read_only(simlab, tmp_path, db_url):
    bench = make_bench(simlab, tmp_path, hold_s=3)
    writer = start_run_in_another_process(bench, "hold.yaml", db_url)
    try:
        app = BringupApp(None, db_url=db_url)
        async with app.run_test(size=(140, 44)) as pilot:
            run_id = await wait_for(pilot, lambda: recorded_run_id(db_url), "the other process's run", 60)
            app.attach(run_id[:8])  # a prefix, as a person types it
            screen = await wait_for(pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.is_mounted
                                    and app.screen,
                                    "the read-only live screen")
            assert screen.read_only
            await wait_for(pilot, lambda: screen.query_one(StepTable).status_of("hold the rails up") == "running",
                           "the hold step running, as recorded")
            for key in ("pause", "stop", "abort", "next_chip"):
                assert screen.check_action(key, ()) is False, f"{key} is not offered when following"
            await wait_for(pilot, lambda: screen.query_one(RailPanel).order == ["VDD_CORE", "VDD_SRAM", "VDD_IO"],
                           "rails sampled by the other process, in power-on order")
            assert "lot L9" in str(screen.query_one("#run-title").content)
            await wait_for(pilot, lambda: screen.status == "passed", "the end, as recorded", 60)
            assert screen.query_one(StepTable).status_of("power_off") == "passed"
            await pilot.press("q")  # nothing of ours is running: quits at once
        assert app.return_code == 0
    finally:
        assert writer.wait(60) == 0, writer.stdout.read() if writer.stdout else ""


HOT_VMIN = """name: hot vmin
steps:
  - step: vmin
    name: Vmin at 85 °C
    mhz: [400, 800]
    temperatures_c: [85]
"""


@pilot_test
async def test_an_attached_screen_shows_the_recorded_temperature_and_the_sweep_bar_with_its_total(db_url):
    """A run recorded by a Recorder in this process (what a station's `bringup run` writes), followed
    through the database: the forcer panel and the vmin step's bar with its total, as recorded."""
    engine = make_engine(db_url)
    run_id = uuid.uuid4().hex

    def point(volts: float, done: int) -> SweepPoint:
        return SweepPoint(run_id=run_id, step_index=0, outcome=SweepOutcome.PASS, done=done, total=2,
                          conditions=Conditions(vdd_core_v=volts, core_mhz=400.0, temperature_c=85.0))

    try:
        with Recorder(engine, stale_after_s=None) as recorder:
            recorder.handle(RunStarted(run_id=run_id, chip_serial="SIM-0001", station_name="s",
                                       runbook_name="hot vmin", runbook_hash="h", runbook_text=HOT_VMIN))
            recorder.handle(StepStarted(run_id=run_id, index=0, name="Vmin at 85 °C", kind="vmin"))
            recorder.handle(ThermalSample(run_id=run_id, setpoint_c=85.0, forcer_c=61.0, die_c=58.5,
                                          at_temperature=False, head="down"))
            recorder.handle(ThermalSample(run_id=run_id, setpoint_c=85.0, forcer_c=84.9, die_c=86.2,
                                          at_temperature=True, head="down"))
            recorder.handle(point(0.70, 0))
            recorder.handle(point(0.68, 1))  # the first of two searches ended here
            recorder.flush()
            app = BringupApp(None, db_url=db_url)
            async with app.run_test(size=(140, 44)) as pilot:
                app.attach(run_id[:8])
                screen = await wait_for(pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.is_mounted
                                        and app.screen, "the read-only live screen")
                panel = screen.query_one(ThermalPanel)
                steps = screen.query_one(StepTable)
                await wait_for(pilot, lambda: panel.reading == ThermalReading(85.0, 84.9, 86.2, True, "down"),
                               "the forcer's latest recorded sample")
                assert "die 86.2 °C" in str(panel.content) and "at temperature" in str(panel.content)
                await wait_for(pilot, lambda: steps.progress_of("Vmin at 85 °C") == (1, 2),
                               "the vmin bar at 1 of its 2 searches")
                # The run goes on while it is followed: its last search ends, and so does the run.
                recorder.handle(point(0.72, 2))
                recorder.handle(StepFinished(run_id=run_id, index=0, status=StepStatus.PASSED))
                recorder.handle(RunFinished(run_id=run_id, status=RunStatus.PASSED))
                recorder.flush()
                await wait_for(pilot, lambda: screen.status == "passed", "the end, as recorded")
                assert steps.progress_of("Vmin at 85 °C") == (2, 2)
                await pilot.press("q")
            assert app.return_code == 0
    finally:
        engine.dispose()


def test_attach_to_a_run_that_is_not_there_says_so(tmp_path):
    with pytest.raises(AttachError, match="no database at"):
        open_read_only(f"sqlite:///{tmp_path / 'nothing.db'}")
    assert not (tmp_path / "nothing.db").exists(), "following never creates a database"


@pytest.mark.postgres
def test_a_notify_wakes_the_follower_long_before_its_fallback_poll(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    engine = make_engine(db_url)
    run_id = uuid.uuid4().hex
    seen = threading.Event()
    live = LiveRun()

    def watcher(event):
        live(event)
        if isinstance(event, Log) and event.text == "committed":
            seen.set()

    with Recorder(engine, stale_after_s=None) as recorder:
        recorder.handle(RunStarted(run_id=run_id, chip_serial="SIM-0001", station_name="s", runbook_name="r",
                                   runbook_hash="h", runbook_text="name: r\nsteps:\n  - step: power_on\n"))
        recorder.flush()
        follower = RunFollower(open_read_only(db_url), run_id, watcher, fallback_s=60.0).start()
        try:
            wait_until(lambda: live.started, 20, "the follower to read the run")
            recorder.handle(Log(run_id=run_id, text="committed"))
            recorder.flush()
            with engine.begin() as conn:  # what the recorder does after each batch (R's change)
                conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}, '{run_id}'"))
            assert seen.wait(20), "woken by the notify, not by the 60 s fallback poll"
        finally:
            follower.stop()
            follower.engine.dispose()
    engine.dispose()
