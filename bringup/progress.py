"""The plain progress view of a run (rich), for a terminal without the TUI or a log file.

It is an ordinary bus subscriber: it may fall behind and be told what it dropped; it never
slows the run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console

from bringup.events import (
    Dropped,
    Log,
    Measurement,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    VectorResult,
)


def line_console() -> Console:
    """Rich output for lines: wrapped to the terminal on a terminal, never wrapped into a pipe or
    a log file (a reason or a run id split over two lines breaks grep and the next program)."""
    import sys

    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())


_STYLE = {"passed": "green", "failed": "red", "error": "red", "aborted": "yellow", "skipped": "dim"}


class ProgressView:
    def __init__(self, console: Console | None = None, *, every_vectors: int = 50,
                 failures_shown: int = 5) -> None:
        self.out = console or line_console()
        self.every_vectors = every_vectors
        self.failures_shown = failures_shown  # per step; the database has every one
        self._vectors = self._vector_failures = 0
        self._step = ""
        self._totals: Counter[str] = Counter()
        self._started = 0.0

    def __call__(self, event: Any) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(event)

    def _on_RunStarted(self, event: RunStarted) -> None:
        self._started = event.ts
        verb = "resuming" if event.resumed else "run"
        self.out.print(f"[bold]{verb} {event.run_id}[/bold]: {event.runbook_name} on chip "
                       f"{event.chip_serial} at station {event.station_name}")

    def _on_StepStarted(self, event: StepStarted) -> None:
        self._step = f"{event.index + 1}. {event.name}"
        self._vectors = self._vector_failures = 0
        self.out.print(f"  {self._step} ...")

    def _on_StepFinished(self, event: StepFinished) -> None:
        hidden = self._vector_failures - self.failures_shown
        if hidden > 0:
            self.out.print(f"    [red]... and {hidden} more failing vectors[/red] (bringup query failing)")
        style = _STYLE.get(str(event.status), "white")
        self.out.print(f"  {self._step}: [{style}]{event.status}[/{style}] {event.message}")
        self._totals[f"steps {event.status}"] += 1

    def _on_Measurement(self, event: Measurement) -> None:
        verdict = {True: "passed", False: "failed", None: "recorded"}[event.passed]
        self._totals[f"measurements {verdict}"] += 1
        if event.passed is False:
            self.out.print(f"    [red]{event.name} = {event.value:.6g} {event.units} outside "
                           f"[{event.low}, {event.high}][/red]")

    def _on_VectorResult(self, event: VectorResult) -> None:
        self._vectors += 1
        self._totals["vectors passed" if event.passed else "vectors failed"] += 1
        if not event.passed:
            self._vector_failures += 1
            if self._vector_failures > self.failures_shown:
                return
            where = "-" if event.first_mismatch_addr is None else f"{event.first_mismatch_addr:#x}"
            self.out.print(f"    [red]{event.vector_name} failed[/red] at "
                           f"{event.conditions.vdd_core_v} V {event.conditions.core_mhz} MHz: first "
                           f"mismatch {where}, flipped bits {event.flipped_bits:08x}")
        elif self._vectors % self.every_vectors == 0:
            self.out.print(f"    {self._vectors} vectors, {self._vector_failures} failed")

    def _on_Log(self, event: Log) -> None:
        if event.level != "info":
            self.out.print(f"    [yellow]{event.text}[/yellow]")

    def _on_Dropped(self, event: Dropped) -> None:
        self.out.print(f"    [dim](progress view skipped {event.count} events)[/dim]")

    def _on_RunFinished(self, event: RunFinished) -> None:
        style = _STYLE.get(str(event.status), "white")
        self.out.print(f"[bold {style}]run {event.status}[/bold {style}]: {event.reason}")
        counts = ", ".join(f"{count} {what}" for what, count in sorted(self._totals.items()))
        minutes, seconds = divmod(event.ts - self._started, 60)
        self.out.print(f"summary: {counts or 'no steps ran'}; {int(minutes)} min {seconds:.1f} s; "
                       f"run id {event.run_id}")
