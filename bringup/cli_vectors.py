"""`bringup vectors ...`: generate random vectors, compute goldens, run a suite on a chip.

Only click is imported here at start-up; every command imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bringup.dut.base import Dut
    from bringup.vectors import RunSummary, Vector

FAILURES_SHOWN = 10
# The exit codes of bringup.cli (not imported here: cli.py imports this module).
EXIT_FAILED, EXIT_INVALID_INPUT, EXIT_ABORTED = 1, 2, 3


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """bringup.cli.friendly_errors, looked up when the command runs (cli.py imports this module)."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from bringup.cli import friendly_errors as report_mistakes

        return report_mistakes(command)(*args, **kwargs)

    return wrapper


@click.group()
def vectors() -> None:
    """Validation vectors: generate, compute goldens, run on a chip or on the reference core."""


@vectors.command("gen")
@click.option("--seed", type=int, required=True, help="Same seed, same vectors.")
@click.option("--count", type=click.IntRange(min=1), required=True, help="How many vectors.")
@click.option("--length", type=click.IntRange(min=1), default=50, show_default=True,
              help="Operations per vector.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Folder for the .hex vectors and their suite.yaml.")
@friendly_errors
def gen(seed: int, count: int, length: int, out_dir: str) -> None:
    """Write COUNT seeded self-checking random vectors and a suite listing them."""
    from bringup.vectors import VectorError, generate

    try:
        suite = generate(seed, count, length, out_dir=out_dir)
    except VectorError as exc:
        _invalid(str(exc))
    click.echo(f"wrote {len(suite.vectors)} vectors and {suite.suite_file}")


@vectors.command("golden")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="Golden cache folder (default $BRINGUP_GOLDEN_CACHE or ~/.cache/bringup/golden).")
@friendly_errors
def golden(paths: tuple[str, ...], cache_dir: str | None) -> None:
    """Compute and cache the golden signature of every vector in the suites (or folders of suites)."""
    from bringup.vectors import DirectoryCache, compute_golden

    cache = DirectoryCache(cache_dir)
    for path in paths:
        loaded = _load(path)
        goldens = _guarded(lambda loaded=loaded: compute_golden(loaded, cache))
        computed = sum(not golden.from_cache for golden in goldens)
        click.echo(f"{path}: {len(goldens)} vectors, {computed} computed, "
                   f"{len(goldens) - computed} already cached ({cache.root})")


@vectors.command("run")
@click.argument("suite", type=click.Path(exists=True, dir_okay=False))
@click.option("--station", "station_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Run on the chip of this station: powered on for the run, always off afterwards.")
@click.option("--reference", is_flag=True, help="Run on the reference core (a dry run, no hardware).")
@click.option("--clock-mhz", type=float, default=None, help="Core clock for every vector.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="Golden cache folder (default $BRINGUP_GOLDEN_CACHE or ~/.cache/bringup/golden).")
@friendly_errors
def run(suite: str, station_path: str | None, reference: bool, clock_mhz: float | None,
        cache_dir: str | None) -> None:
    """Run SUITE and compare every signature with the reference core's: exit 0 all passed, 1 not."""
    from bringup.vectors import DirectoryCache

    if (station_path is None) == (not reference):
        raise click.UsageError("give either --station FILE (a chip) or --reference (the reference core)")
    loaded = _load(suite)
    cache = DirectoryCache(cache_dir)
    if reference:
        from bringup.dut.reference import ReferenceDut

        summary = _run_with_progress(ReferenceDut(), loaded, cache, clock_mhz)
    else:
        assert station_path is not None
        with _powered_chip(station_path) as dut:
            summary = _run_with_progress(dut, loaded, cache, clock_mhz)
    _print_summary(summary)
    sys.exit(0 if summary.all_passed else EXIT_FAILED)


@contextmanager
def _powered_chip(station_path: str) -> Iterator[Dut]:
    """Open the station, power the chip on through the PowerController; always power it off."""
    from bringup.dut.monitor import MonitorDut
    from bringup.power import PowerController
    from bringup.station import Station, load_station

    spec = load_station(station_path)
    with Station.open(spec) as station:
        if station.console is None:
            _invalid(f"station {station_path} has no serial_console for the chip — add one")
        clock = (station.instruments[spec.clock.source], spec.clock) if spec.clock else None
        power = PowerController(station.rails, spec.power_on_order, clock=clock)
        try:
            _guarded(power.power_on)
            dut = MonitorDut(station.console, name=spec.name)
            _guarded(dut.wait_for_boot)
            yield dut
        finally:
            failures = power.safe_off("vectors run finished")
            power.close()
            if failures:
                click.echo(f"warning: powering off: {'; '.join(failures)}", err=True)


def _run_with_progress(dut: Any, loaded: list[Vector], cache: Any, clock_mhz: float | None) -> RunSummary:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bringup.vectors import run_vectors

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("[red]{task.fields[failed]} failed"), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(f"vectors on {dut.name}", total=len(loaded), failed=0)
        failed = 0

        def advance(done: int, total: int, outcome: Any) -> None:
            nonlocal failed
            failed += not outcome.passed
            progress.update(task, completed=done, failed=failed)

        return _guarded(lambda: run_vectors(dut, loaded, cache, progress=advance, clock_mhz=clock_mhz))


def _print_summary(summary: RunSummary) -> None:
    click.echo(f"{summary.passed} passed, {summary.failed} failed of {len(summary.outcomes)} vectors")
    failures = [outcome for outcome in summary.outcomes if not outcome.passed]
    for outcome in failures[:FAILURES_SHOWN]:
        click.echo(f"  {outcome.describe()}")
    if len(failures) > FAILURES_SHOWN:
        click.echo(f"  ... and {len(failures) - FAILURES_SHOWN} more")


@vectors.command("trace")
@click.argument("suite", type=click.Path(exists=True))
@click.option("--name", "vector_name", default=None, help="Which vector of the suite (default: the first).")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True,
              help="Stop printing after this many instructions.")
@friendly_errors
def trace(suite: str, vector_name: str | None, limit: int) -> None:
    """Print one line per instruction the reference core retires running a vector: pc, word,
    disassembly, register and memory written. Compare with a failing chip's first mismatch."""
    from bringup.emulator import Core, Memory
    from bringup.vectors import RAM_BASE, RAM_SIZE

    loaded = _load(suite)
    chosen = next((v for v in loaded if vector_name in (None, v.name)), None)
    if chosen is None:
        _invalid(f"{suite}: no vector named '{vector_name}' — it has {', '.join(v.name for v in loaded)}")
    printed = 0

    def show(record: Any) -> None:
        nonlocal printed
        printed += 1
        if printed <= limit:
            click.echo(str(record))

    memory = Memory(regions=[(RAM_BASE, RAM_SIZE)])
    core = Core(memory, tohost=chosen.tohost, trace=show)
    core.load(chosen.load_address, chosen.image)
    core.pc = chosen.entry
    result = core.run(chosen.max_steps)
    hidden = f" ({printed - limit} more not shown; raise --limit)" if printed > limit else ""
    click.echo(f"{chosen.name}: {result.status} after {result.steps} instructions, "
               f"exit code {result.exit_code}{hidden}")


def _load(path: str) -> list[Vector]:
    """Vectors of a suite/.hex file, or of every suite YAML in a folder."""
    from bringup.vectors import load_vectors

    target = Path(path)
    if not target.is_dir():
        return load_vectors(target)
    suites = sorted(target.glob("*.yaml"))
    if not suites:
        _invalid(f"{path}: no suite (*.yaml) in this folder — give a suite file or its folder")
    return [vector for suite in suites for vector in load_vectors(suite)]


def _guarded(action: Any) -> Any:
    """Run `action`; a vector the reference rejects is the user's to fix (exit 2), a chip or
    power failure ends the command (exit 3) — each as one line, never a traceback."""
    from bringup.dut.base import DutError
    from bringup.messages import first_line
    from bringup.power import PowerFault
    from bringup.vectors import VectorError

    try:
        return action()
    except VectorError as exc:
        _invalid(str(exc))
    except (DutError, PowerFault) as exc:
        click.echo(f"error: {first_line(exc)}", err=True)
        sys.exit(EXIT_ABORTED)


def _invalid(message: str) -> Any:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INVALID_INPUT)
