"""`bringup vectors ...`: generate random vectors, compute goldens, run a suite on a chip.

Only click is imported here at start-up; every command imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bringup.cli_options import DB_OPTION

if TYPE_CHECKING:
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
@click.argument("suite", type=click.Path(exists=True))
@click.option("--station", "station_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Run on the chip of this station, as a recorded run: powered on for it, always off "
                   "afterwards (the same path as `bringup run`).")
@click.option("--chip", default=None, help="Serial of the chip on the bench (required with --station).")
@DB_OPTION
@click.option("--operator", default="", help="Who started the run (recorded with it).")
@click.option("--reference", is_flag=True, help="Run on the reference core (a dry run, no hardware).")
@click.option("--clock-mhz", type=float, default=None, help="Core clock for every vector.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="Golden cache folder (default $BRINGUP_GOLDEN_CACHE or ~/.cache/bringup/golden).")
@friendly_errors
def run(suite: str, station_path: str | None, chip: str | None, db_url: str | None, operator: str,
        reference: bool, clock_mhz: float | None, cache_dir: str | None) -> None:
    """Run SUITE and compare every signature with the reference core's: exit 0 all passed, 1 not
    (3 aborted or a bench error, 2 invalid input)."""
    from bringup.vectors import DirectoryCache

    if (station_path is None) == (not reference):
        raise click.UsageError("give either --station FILE (a chip) or --reference (the reference core)")
    cache = DirectoryCache(cache_dir)
    if station_path is not None:
        if not chip:
            raise click.UsageError("--station needs --chip SERIAL: the run is recorded under the chip's "
                                   "serial")
        sys.exit(_run_on_station(suite, station_path, chip, db_url, operator, clock_mhz, cache))
    from bringup.dut.reference import ReferenceDut

    summary = _run_with_progress(ReferenceDut(), _load(suite), cache, clock_mhz)
    _print_summary(summary)
    sys.exit(0 if summary.all_passed else EXIT_FAILED)


def _run_on_station(suite: str, station_path: str, chip: str, db_url: str | None, operator: str,
                    clock_mhz: float | None, cache: Any) -> int:
    """The suite as a runbook built in code (power on, the vectors, power off), run through
    bringup.api like `bringup run`: every vector is checked before any instrument is touched,
    and the lease, the signals and the watchdog are the same."""
    from bringup.api import run_runbook
    from bringup.db.engine import database_url
    from bringup.progress import ProgressView
    from bringup.runbook import LoadedRunbook, PowerOff, PowerOn, RunVectors

    folder, names = _suites_of(suite)
    steps = [PowerOn(step="power_on"),
             *(RunVectors(step="run_vectors", suite=name, clock_mhz=clock_mhz) for name in names),
             PowerOff(step="power_off")]
    runbook = LoadedRunbook.from_steps(f"vectors {Path(suite).name}", steps)
    tally = _VectorTally()
    report = run_runbook(runbook, station_path, chip, db_url=db_url, operator=operator,
                         watchers=[ProgressView(), tally], vector_dirs=[folder], golden_cache=cache)
    tally.print_summary()
    click.echo(f"recorded as run {report.run_id} in {database_url(db_url)} "
               f"(`bringup query run {report.run_id[:8]}`)")
    return {"passed": 0, "failed": EXIT_FAILED}.get(str(report.status), EXIT_ABORTED)


def _suites_of(suite: str) -> tuple[Path, list[str]]:
    """The folder and names of the suite file, or of every suite in a folder."""
    target = Path(suite)
    if target.is_dir():
        names = sorted(path.stem for path in target.glob("*.yaml"))
        if not names:
            _invalid(f"{suite}: no suite (*.yaml) in this folder — give a suite file or its folder")
        return target, names
    if target.suffix not in (".yaml", ".yml"):
        _invalid(f"{suite}: on a station, give a suite file (*.yaml) or a folder of suites — "
                 "list a single .hex or .elf vector in a suite")
    return target.parent, [target.stem]


class _VectorTally:
    """Counts the run's vector results as they are recorded, for the closing summary."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []

    def __call__(self, event: Any) -> None:
        from bringup.events import VectorResult

        if not isinstance(event, VectorResult):
            return
        if event.passed:
            self.passed += 1
            return
        where = "-" if event.first_mismatch_addr is None else f"{event.first_mismatch_addr:#010x}"
        self.failures.append(f"FAIL {event.vector_name}: first at {where}, "
                             f"flipped bits {event.flipped_bits:08x}")

    def print_summary(self) -> None:
        total = self.passed + len(self.failures)
        click.echo(f"{self.passed} passed, {len(self.failures)} failed of {total} vectors")
        for line in self.failures[:FAILURES_SHOWN]:
            click.echo(f"  {line}")
        if len(self.failures) > FAILURES_SHOWN:
            click.echo(f"  ... and {len(self.failures) - FAILURES_SHOWN} more")


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
