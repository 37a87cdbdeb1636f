"""Helpers for run tests: the bench (simulated lab, station file, database) and waiting."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bringup.api import run_runbook
from bringup.events import RunEvent
from bringup.sequencer import RunReport
from bringup.simlab import SimLab
from bringup.steps.base import RunControl

INSTRUMENT_TIMEOUT_S = 0.5  # a silent supply is noticed quickly in tests


@dataclass
class Bench:
    lab: SimLab
    station: Path
    db_url: str
    folder: Path
    events: list[RunEvent] = field(default_factory=list)

    def runbook(self, body: str, name: str = "test") -> Path:
        path = self.folder / f"{name}.yaml"
        path.write_text(f"name: {name}\nsteps:\n" + textwrap.indent(textwrap.dedent(body).strip(), "  ") + "\n")
        return path

    def run(self, body: str, *, control: RunControl | None = None,
            on_event: Callable[[RunEvent], None] | None = None, station: Path | None = None) -> RunReport:
        def watch(event: RunEvent) -> None:
            self.events.append(event)
            if on_event is not None:
                on_event(event)

        return run_runbook(self.runbook(body), station or self.station, "SIM-0001", db_url=self.db_url,
                           watchers=[watch], control=control, vector_dirs=[ROOT / "runbooks" / "vectors"],
                           monitor_hz=20)

    def station_with(self, old: str, new: str) -> Path:
        text = self.station.read_text()
        assert old in text, old
        path = self.folder / "station-variant.yaml"
        path.write_text(text.replace(old, new, 1))
        return path

    def engine(self) -> Engine:
        from bringup.db.engine import make_engine

        return make_engine(self.db_url)


ROOT = Path(__file__).resolve().parents[2]


def in_background(action: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread
