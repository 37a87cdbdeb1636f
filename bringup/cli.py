"""`bringup ...` — the command line. A thin layer over the Python API.

Only click is imported at start-up so that `bringup --help` answers instantly; every command
imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from bringup.cli_options import DB_OPTION, FORMAT_OPTION, STATION_OPTION

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID_INPUT, EXIT_ABORTED, EXIT_INTERNAL_ERROR = 0, 1, 2, 3, 4
MAX_ERROR_LINES = 20  # a file with hundreds of mistakes: the first ones, and a count of the rest
def friendly_errors(command: F) -> F:
    """Print a user's mistake (a ConfigError, an unreachable instrument) as lines, not a traceback.

    Every command gets the same treatment from the group (`BringupGroup`); this decorator is
    kept so a command can be called on its own (tests, other click groups) with the same codes.
    """

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with exit_codes():
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turn what escapes a command into its exit code and one line per problem on stderr.

    2: invalid input (file:line lines); 3: the bench or the database would not answer;
    4: a bug in bringup — the traceback goes to a log file whose path is printed.
    """
    try:
        yield
    except click.exceptions.UsageError:
        raise  # a mistyped option or argument: click prints the usage line with it (exit 2)
    except click.exceptions.ClickException as exc:
        # Commands raise ClickException for what the user typed (no such run id): invalid input,
        # not the "failed" that click's default code 1 would claim; said like every other error.
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(EXIT_INVALID_INPUT if exc.exit_code == EXIT_FAILED else exc.exit_code)
    except (click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:
        code, lines = _classify(exc)
        for line in lines:
            click.echo(f"error: {line}", err=True)
        sys.exit(code)


def _classify(exc: Exception) -> tuple[int, list[str]]:
    from bringup.messages import first_line
    from bringup.yamlfile import ConfigError, ConfigErrors

    if isinstance(exc, ConfigErrors):
        lines = [str(error) for error in exc.errors[:MAX_ERROR_LINES]]
        if len(exc.errors) > MAX_ERROR_LINES:
            lines.append(f"... and {len(exc.errors) - MAX_ERROR_LINES} more mistakes in the same file(s)")
        return EXIT_INVALID_INPUT, lines
    if isinstance(exc, ConfigError):
        return EXIT_INVALID_INPUT, [str(exc)]
    if _is_outside_failure(exc):
        # An instrument that would not open, a database that would not answer: say it in
        # one line; the traceback helps nobody at the bench.
        return EXIT_ABORTED, [first_line(exc)]
    return EXIT_INTERNAL_ERROR, [_internal_error(exc)]


def _is_outside_failure(exc: Exception) -> bool:
    from bringup.db.engine import DatabaseError
    from instruments.errors import InstrumentError

    return isinstance(exc, InstrumentError | DatabaseError | OSError)


def _internal_error(exc: Exception) -> str:
    """Save the traceback of a bug to a log file; the one line that says where it is."""
    import tempfile
    import time
    import traceback

    from bringup.messages import described

    text = "".join(traceback.format_exception(exc))
    name = f"bringup-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (_log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(f"bringup {' '.join(sys.argv[1:])}\n{text}", encoding="utf-8")
            break
        except OSError:
            continue
    else:
        return f"internal error: {described(exc)} (the traceback could not be saved)"
    return (f"internal error: {described(exc)} — a bug in bringup; the traceback is in {path} "
            "(please attach it to a report)")


def _log_dir() -> Path:
    configured = os.environ.get("BRINGUP_LOG_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "bringup" / "errors"


class BringupGroup(click.Group):
    """The `bringup` group: every command, whoever added it, exits with the codes of the README."""

    def invoke(self, ctx: click.Context) -> Any:
        with exit_codes():
            return super().invoke(ctx)


@click.group(cls=BringupGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bringup")
def main() -> None:
    """bringup: power a chip on safely, check it against a golden model, record everything.

    Start with `bringup demo`, which runs the whole thing against a simulated lab.
    """


@main.command()
@click.option("--chip", default="SIM-0001", show_default=True, help="Serial of the simulated chip.")
@click.option(
    "--station-out", type=click.Path(dir_okay=False), default="simlab-station.yaml", show_default=True,
    help="Where to write the station file that describes this simulated bench.",
)
@click.option("--time-scale", type=float, default=1.0, show_default=True,
              help="Speed-up of simulated time constants (thermal soak), for accelerated demos.")
def simlab(chip: str, station_out: str, time_scale: float) -> None:
    """Run the simulated lab in the foreground until Ctrl-C."""
    from bringup.simlab.lab import run_foreground

    run_foreground(chip, station_out, time_scale=time_scale)


@main.group()
def instruments() -> None:
    """Instruments of a station."""


@instruments.command("check")
@STATION_OPTION
@friendly_errors
def instruments_check(station_path: str) -> None:
    """Open every instrument, print its identity and the rail readbacks: the bench's hello."""
    from bringup.bench_check import check_station, print_report
    from bringup.station import load_station

    report = check_station(load_station(station_path))
    print_report(report, station_path)
    sys.exit(0 if report.ok else 1)


def _say_recorded(db_url: str | None) -> None:
    from bringup.dblocation import recorded_in

    click.echo(recorded_in(db_url))


def _exit_code(status: str) -> int:
    return {"passed": EXIT_PASSED, "failed": EXIT_FAILED}.get(status, EXIT_ABORTED)


@main.command()
@click.argument("runbook", type=click.Path(dir_okay=False))
@STATION_OPTION
@click.option("--chip", required=True, help="Serial of the chip on the bench.")
@DB_OPTION
@click.option("--operator", default="", help="Who started the run (recorded with it).")
@click.option("--lot", default=None, help="The chip's lot, for history across a lot.")
@click.option("--wafer", type=int, default=None, help="The chip's wafer number.")
@click.option("--die", type=(int, int), default=(None, None), metavar="X Y", help="The chip's die position.")
@click.option("--vectors", "vector_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Extra folder of vector suites (default: vectors/ beside the runbook).")
@friendly_errors
def run(runbook: str, station_path: str, chip: str, db_url: str | None, operator: str, lot: str | None,
        wafer: int | None, die: tuple[int | None, int | None], vector_dirs: tuple[str, ...]) -> None:
    """Run RUNBOOK on the chip: exit 0 passed, 1 failed, 2 invalid input, 3 aborted or error."""
    from bringup.api import run_runbook
    from bringup.progress import ProgressView
    from bringup.sequencer import ChipInfo

    info = ChipInfo(serial=chip, lot=lot, wafer=wafer, die_x=die[0], die_y=die[1])
    report = run_runbook(runbook, station_path, info, db_url=db_url, operator=operator,
                         watchers=[ProgressView()], vector_dirs=vector_dirs)
    _say_recorded(db_url)
    sys.exit(_exit_code(report.status))


@main.command()
@click.argument("run_id")
@STATION_OPTION
@DB_OPTION
@click.option("--vectors", "vector_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Folder of the run's vector suites, if not the shipped runbooks/vectors.")
@friendly_errors
def resume(run_id: str, station_path: str, db_url: str | None, vector_dirs: tuple[str, ...]) -> None:
    """Continue an interrupted run after its last completed step (nothing is repeated)."""
    from bringup.api import resume_run
    from bringup.progress import ProgressView

    report = resume_run(_full_run_id(_engine(db_url), run_id), station_path, db_url=db_url,
                        watchers=[ProgressView()], vector_dirs=vector_dirs)
    _say_recorded(db_url)
    sys.exit(_exit_code(report.status))


@main.command()
@STATION_OPTION
@friendly_errors
def estop(station_path: str) -> None:
    """Turn every output of the station off now, even while a run holds the bench."""
    from bringup.estop import emergency_stop
    from bringup.lease import notify_estop
    from bringup.station import load_station

    spec = load_station(station_path)
    owner = notify_estop(spec.name)  # the run holding the bench records an estop, not a fault
    if owner is not None:
        click.echo(f"station {spec.name}: {owner.describe()} holds it; told it to abort")
    results = emergency_stop(spec)
    for result in results:
        click.echo(f"{result.instrument}: {'OFF' if result.ok else 'FAILED'} — {result.detail}")
    sys.exit(0 if all(r.ok for r in results) else 1)


@main.group()
def query() -> None:
    """History: runs, results with filters, failing vectors by corner, Vmin, what changed between runs.

    Every query reads only: it never creates a database. `--format csv|json` gives full values
    for programs; a table on a terminal pages when it is long.
    """


def _history_filters(command: F) -> F:
    """The filters `query measurements` and `query vectors` share."""
    span = "a value (0.8) or a range (0.7:0.9, :0.9, 0.7:)"
    options = [
        click.option("--run", "run_id", default=None, help="Only this run (an id or a unique prefix)."),
        click.option("--chip", default=None, help="Only this chip serial."),
        click.option("--lot", default=None, help="Only chips of this lot."),
        click.option("--station", default=None, help="Only runs on this station."),
        click.option("--runbook", default=None, help="Only runs of this runbook (by name)."),
        click.option("--status", default=None, help="Only runs that ended so (passed, failed, ...)."),
        click.option("--name", default=None, help="Only results of this measurement or vector name."),
        click.option("--since", type=click.DateTime(), default=None, help="Recorded from (local time)."),
        click.option("--until", type=click.DateTime(), default=None, help="Recorded until (local time)."),
        click.option("--volts", default=None, help=f"VDD_CORE volts: {span}."),
        click.option("--mhz", default=None, help=f"Core clock MHz: {span}."),
        click.option("--celsius", default=None, help=f"Temperature °C: {span}."),
        click.option("--failed", "failed_only", is_flag=True, help="Only results that failed their limits."),
        click.option("--limit", type=int, default=None, help="At most this many rows."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _filter_from(engine: Any, run_id: str | None, volts: str | None, mhz: str | None, celsius: str | None,
                 **kwargs: Any) -> Any:
    from bringup.db.queries import HistoryFilter, Span

    def span(option: str, text: str | None) -> Any:
        try:
            return None if text is None else Span.parse(text)
        except ValueError:
            _invalid(f"{option} {text!r} is not a number or a range — write e.g. 0.8 or 0.7:0.9")

    return HistoryFilter(run_id=None if run_id is None else _full_run_id(engine, run_id),
                         volts=span("--volts", volts), mhz=span("--mhz", mhz),
                         celsius=span("--celsius", celsius), **kwargs)


def _limited(rows: Any, limit: int | None) -> Any:
    import itertools

    return rows if limit is None else itertools.islice(rows, limit)


@query.command("runs")
@DB_OPTION
@click.option("--chip", default=None, help="Only this chip serial.")
@click.option("--status", default=None, help="Only runs that ended so (passed, failed, interrupted...).")
@click.option("--limit", default=20, show_default=True)
@FORMAT_OPTION
@friendly_errors
def query_runs(db_url: str | None, chip: str | None, status: str | None, limit: int,
               output_format: str) -> None:
    """Runs, newest first."""
    from bringup.db import queries
    from bringup.tabular import emit, when

    rows = queries.list_runs(_engine(db_url), chip=chip, status=status, limit=limit)
    columns = ["run", "chip", "lot", "station", "runbook", "status", "started", "ended", "resumed", "reason"]
    emit("runs", columns,
         [(r.id, r.chip_serial, r.lot, r.station, r.runbook, r.status, when(r.started_at), when(r.ended_at),
           r.resume_count, r.reason) for r in rows], output_format)


@query.command("run")
@click.argument("run_id")
@DB_OPTION
@FORMAT_OPTION
@friendly_errors
def query_run(run_id: str, db_url: str | None, output_format: str) -> None:
    """One run: its record, its steps and pass/fail counts."""
    from bringup.db import queries
    from bringup.tabular import emit, when

    engine = _engine(db_url)
    summary = queries.run_summary(engine, _full_run_id(engine, run_id))
    if summary is None:
        _invalid(f"no run {run_id} — list runs with `bringup query runs`")
    r = summary.run
    columns = ["#", "step", "kind", "status", "message"]
    steps = [(s.index + 1, s.name, s.kind, s.status, s.message) for s in summary.steps]
    if output_format == "json":
        import dataclasses
        import json

        click.echo(json.dumps(dataclasses.asdict(summary), indent=2, default=str, ensure_ascii=False))
        return
    if output_format == "table":
        times = "time" if r.resume_count == 1 else "times"
        resumed = f", resumed {r.resume_count} {times}" if r.resume_count else ""
        reason = f" ({r.reason})" if r.reason else ""
        click.echo(f"run {r.id}: {r.runbook} on {r.chip_serial} at {r.station}, {r.status}{reason}; "
                   f"started {when(r.started_at)}, ended {when(r.ended_at)}{resumed}")
        s = summary
        click.echo(f"measurements {s.measurements_passed} passed, {s.measurements_failed} failed; "
                   f"vectors {s.vectors_passed} passed, {s.vectors_failed} failed")
    emit("steps", columns, steps, output_format)


@query.command("measurements")
@DB_OPTION
@_history_filters
@FORMAT_OPTION
@friendly_errors
def query_measurements(db_url: str | None, limit: int | None, output_format: str, **filters: Any) -> None:
    """Measurements with their limits, verdicts and conditions, oldest first."""
    from bringup.db import queries
    from bringup.tabular import emit, when

    engine = _engine(db_url)
    where = _filter_from(engine, **filters)
    columns = ["run", "chip", "step", "name", "value", "units", "low", "high", "passed", "time",
               "V", "MHz", "°C"]
    rows = ((m.run_id, m.chip_serial, m.step_index, m.name, m.value, m.units, m.low, m.high, m.passed,
             m.time if output_format != "table" else when(m.time), m.vdd_core_v, m.core_mhz, m.temperature_c)
            for m in _limited(queries.iter_measurements(engine, where), limit))
    emit("measurements", columns, rows, output_format)


@query.command("vectors")
@DB_OPTION
@_history_filters
@FORMAT_OPTION
@friendly_errors
def query_vectors(db_url: str | None, limit: int | None, output_format: str, **filters: Any) -> None:
    """Vector results: pass/fail, first failing address and flipped bits, conditions."""
    from bringup.db import queries
    from bringup.tabular import emit, when

    engine = _engine(db_url)
    where = _filter_from(engine, **filters)
    columns = ["run", "chip", "step", "vector", "repeat", "passed", "first_mismatch", "flipped_bits", "time",
               "V", "MHz", "°C"]
    table = output_format == "table"
    rows = ((v.run_id, v.chip_serial, v.step_index, v.vector_name, v.repeat, v.passed,
             _hex(v.first_mismatch_addr) if table else v.first_mismatch_addr,
             _hex(v.flipped_bits) if table else v.flipped_bits, when(v.time) if table else v.time,
             v.vdd_core_v, v.core_mhz, v.temperature_c)
            for v in _limited(queries.iter_vector_results(engine, where), limit))
    emit("vector results", columns, rows, output_format)


def _hex(value: int | None) -> str | None:
    return None if value is None else f"0x{value:08x}"


@query.command("failing")
@DB_OPTION
@click.option("--lot", default=None)
@click.option("--chip", default=None)
@FORMAT_OPTION
@friendly_errors
def query_failing(db_url: str | None, lot: str | None, chip: str | None, output_format: str) -> None:
    """Which chips fail which vectors at which corner."""
    from bringup.db import queries
    from bringup.tabular import emit

    rows = queries.failing_vectors(_engine(db_url), lot=lot, chip=chip)
    emit("failing vectors", ["chip", "vector", "MHz", "°C", "V", "failures", "runs"],
         [(r.chip_serial, r.vector_name, r.core_mhz, r.temperature_c, r.vdd_core_v, r.failures, r.runs)
          for r in rows], output_format)


@query.command("vmin")
@DB_OPTION
@click.option("--lot", required=True)
@friendly_errors
def query_vmin(db_url: str | None, lot: str) -> None:
    """Vmin per chip across a lot, per frequency and temperature, from recorded Vmin searches."""
    from bringup.history import print_rows

    rows = _vmin_rows(db_url, lot)
    print_rows(f"Vmin, lot {lot}", ["chip", "wafer", "x", "y", "MHz", "°C", "Vmin (V)", "run"],
               [(r.chip_serial, r.wafer, r.die_x, r.die_y, r.core_mhz, r.temperature_c,
                 "no Vmin search recorded" if r.vmin_v is None else f"{r.vmin_v:.3f}",
                 r.run_id[:8] if r.run_id else None) for r in rows])


def _vmin_rows(db_url: str | None, lot: str) -> Any:
    """Vmin searches per chip: straight through sqlite3 where it can (no SQLAlchemy import:
    issue 11's 0.3 s for the whole command), else the same SQL through SQLAlchemy."""
    from bringup.db.fastread import connect, vmin_searches_by_lot
    from bringup.dblocation import NoDatabase

    try:
        conn = connect(db_url)
    except NoDatabase as exc:
        return _invalid(str(exc))
    if conn is not None:
        with conn:
            return vmin_searches_by_lot(conn, lot)
    from bringup.db import queries

    return queries.vmin_searches(_engine(db_url), lot)


# Past this many results present in only one run (different runbooks), they are counted, not listed.
DIFF_LIST_ABSENT = 20


@query.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@DB_OPTION
@click.option("--all", "show_all", is_flag=True, help="List every result present in only one run.")
@FORMAT_OPTION
@friendly_errors
def query_diff(run_a: str, run_b: str, db_url: str | None, show_all: bool, output_format: str) -> None:
    """What changed between two runs: conditions, measurements (with deltas) and vector outcomes."""
    from bringup.db import queries
    from bringup.tabular import emit

    engine = _engine(db_url)
    diff = queries.compare_runs(engine, _full_run_id(engine, run_a), _full_run_id(engine, run_b))
    columns = ["kind", "name", "V", "MHz", "°C", "before", "after", "value before", "value after", "delta",
               "V before", "MHz before", "°C before"]
    changes = list(diff.changes)
    absent = [c for c in changes if "absent" in (c.before, c.after)]
    if output_format == "table" and not show_all and len(absent) > DIFF_LIST_ABSENT:
        changes = [c for c in changes if c not in absent]
    rows = [(c.kind, c.name, c.vdd_core_v, c.core_mhz, c.temperature_c, c.before, c.after, c.value_before,
             c.value_after, _delta(c.value_before, c.value_after),
             *(c.corner_before or (c.vdd_core_v, c.core_mhz, c.temperature_c))) for c in changes]
    if output_format == "table":  # one column per condition: "25 -> 85" where the corner moved
        rows = [(*r[:2], *(_moved(old, new) for old, new in zip(r[10:], r[2:5], strict=True)), *r[5:10])
                for r in rows]
        columns = columns[:10]
    if output_format != "table":
        emit("diff", columns, rows, output_format)
        return
    click.echo(diff.summary())
    for before, after in diff.conditions:
        if before.text() != after.text():
            click.echo(f"  {before.name}: {before.text()} -> {after.text()}")
    if len(changes) < len(diff.changes):
        click.echo(f"  {len(absent)} results present in only one run are not listed (--all lists them)")
    if rows:
        emit(f"{run_a} -> {run_b}", columns, rows, "table")


def _moved(old: float | None, new: float | None) -> Any:
    def text(value: float | None) -> str:
        return "-" if value is None else f"{value:g}"

    return new if old == new else f"{text(old)}->{text(new)}"


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _invalid(message: str) -> Any:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INVALID_INPUT)


def _full_run_id(engine: Any, prefix: str) -> str:
    from bringup.db.queries import AmbiguousRunId, resolve_run_id

    try:
        return resolve_run_id(engine, prefix)
    except AmbiguousRunId as exc:
        return _invalid(str(exc))


def _engine(db_url: str | None) -> Any:  # the Engine type would import sqlalchemy at start-up
    """The database for a read-only command: opened without creating it or importing Alembic."""
    from bringup.dblocation import NoDatabase, open_readonly

    try:
        return open_readonly(db_url)
    except NoDatabase as exc:
        return _invalid(str(exc))


@main.command()
@click.option("--chip", default="SIM-0001", show_default=True, help="Serial of the simulated chip.")
@DB_OPTION
@click.option("--plain", is_flag=True, help="Plain progress lines instead of the TUI, even on a terminal.")
@friendly_errors
def demo(chip: str, db_url: str | None, plain: bool) -> None:
    """The simulated lab, a bench check and the overnight runbook in accelerated time, into lab.db."""
    from bringup.demo import run_demo

    tui = not plain and sys.stdin.isatty() and sys.stdout.isatty()
    sys.exit(run_demo(chip, db_url=db_url, tui=tui))


from bringup.cli_vectors import vectors  # noqa: E402  (imports only click)

main.add_command(vectors)
from bringup.cli_tui import tui  # noqa: E402  (imports only click)

main.add_command(tui)
from bringup.cli_report import export, report  # noqa: E402  (imports only click)

main.add_command(report)
main.add_command(export)
from bringup.cli_bench import instruments_clear  # noqa: E402  (imports only click)

instruments.add_command(instruments_clear)
from bringup.cli_db import db  # noqa: E402  (imports only click)

main.add_command(db)
from bringup.cli_plot import plot  # noqa: E402  (imports only click)

main.add_command(plot)

if __name__ == "__main__":
    main()
