"""Helpers for TUI tests: a bench folder (station, runbooks, database) and waiting on the UI."""

from __future__ import annotations

import asyncio
import functools
import re
import shutil
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from bringup.simlab import SimLab

ROOT = Path(__file__).resolve().parents[2]
# The simulated lab answers from this test process's threads, which share the GIL with the app
# under test (and, in the attach tests, a second process): on a loaded 2-core machine a reply
# took over 0.5 s. No TUI test silences an instrument, so the bound only has to be generous.
INSTRUMENT_TIMEOUT_S = 5.0

# Holds the rails up long enough to pause or abort it by hand.
HOLD_RUNBOOK = """\
name: hold
steps:
  - step: power_on
  - step: wait
    name: hold the rails up
    seconds: {seconds}
  - step: power_off
"""
# Line 4 asks for more than VDD_CORE's absolute maximum in the simulated station.
BAD_RUNBOOK = """\
name: bad
steps:
  - step: power_on
  - step: set_rail
    rail: VDD_CORE
    volts: 5.0
"""


@dataclass
class TuiBench:
    lab: SimLab
    station: Path
    runbooks: Path
    db_url: str


def make_bench(lab: SimLab, folder: Path, *, hold_s: float = 1.0) -> TuiBench:
    station = folder / "station.yaml"
    station.write_text(re.sub(r'(resource: "[^"]+")', rf"\1, timeout_s: {INSTRUMENT_TIMEOUT_S}",
                              lab.station_text()))
    runbooks = folder / "runbooks"
    runbooks.mkdir()
    shutil.copy(ROOT / "runbooks" / "power_on.yaml", runbooks)
    (runbooks / "hold.yaml").write_text(HOLD_RUNBOOK.format(seconds=hold_s))
    (runbooks / "bad.yaml").write_text(BAD_RUNBOOK)
    return TuiBench(lab, station, runbooks, f"sqlite:///{folder / 'lab.db'}")


async def wait_for(pilot: Pilot[Any], condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Let the app run until `condition()` is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


def pilot_test(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test in its own event loop (no pytest async plugin needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run
