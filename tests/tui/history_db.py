"""A results database holding a few fixed runs, for the history screen's deterministic views."""

from __future__ import annotations

from pathlib import Path

from replay import T0, end_events, live_events

from bringup.db.engine import make_engine
from bringup.db.recorder import Recorder
from bringup.events import RunFinished, RunStarted, RunStatus, StepFinished, StepStarted, StepStatus


def _short_run(run_id: str, chip: str, started: float, status: RunStatus, reason: str) -> list:
    return [RunStarted(run_id=run_id, chip_serial=chip, station_name="simlab", runbook_name="power_on",
                       runbook_hash=f"h-{run_id}", runbook_text="name: power_on\nsteps:\n  - step: power_on\n",
                       lot="L7", ts=started),
            StepStarted(run_id=run_id, index=0, name="power_on", kind="power_on", ts=started + 1),
            StepFinished(run_id=run_id, index=0, status=StepStatus.PASSED, ts=started + 2),
            RunFinished(run_id=run_id, status=status, reason=reason, ts=started + 3)]


def fill_history(url: str, *, with_running: bool = False) -> None:
    """Four finished runs (one of them the replayed shmoo run) and, if asked, one still running."""
    engine = make_engine(url)
    try:
        with Recorder(engine, stale_after_s=None) as recorder:
            for event in [*_short_run("a1000000000000000000000000000001", "SIM-0040", T0 - 7200,
                                      RunStatus.PASSED, "every step passed"),
                          *_short_run("a2000000000000000000000000000002", "SIM-0041", T0 - 3600,
                                      RunStatus.ABORTED, "aborted by the operator"),
                          *end_events()]:
                recorder.handle(event)
            if with_running:
                for event in live_events():
                    recorder.handle(_renamed(event))
    finally:
        engine.dispose()


RUNNING_ID = "b0b0000000000000000000000000000b"


def _renamed(event):
    from dataclasses import replace

    return replace(event, run_id=RUNNING_ID, **({"chip_serial": "SIM-0043", "runbook_hash": "h2"}
                                                if isinstance(event, RunStarted) else {}))


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'history.db'}"
