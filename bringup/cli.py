"""`bringup ...` — the command line. A thin layer over the Python API.

Only click is imported at start-up so that `bringup --help` answers instantly; every command
imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID_INPUT, EXIT_ABORTED = 0, 1, 2, 3
DB_OPTION = click.option("--db", "db_url", envvar="BRINGUP_DB", default=None,
                         help="Database URL (default sqlite:///lab.db; env BRINGUP_DB).")
STATION_OPTION = click.option("--station", "station_path", required=True, type=click.Path(dir_okay=False),
                              help="Station file (YAML) describing the bench.")


def friendly_errors(command: F) -> F:
    """Print a user's mistake (a ConfigError, an unreachable instrument) as lines, not a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from bringup.yamlfile import ConfigError, ConfigErrors

        try:
            return command(*args, **kwargs)
        except ConfigErrors as exc:
            for error in exc.errors:
                click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_INVALID_INPUT)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INVALID_INPUT)
        except Exception as exc:
            # An instrument that would not open, a database that would not answer: say it in
            # one line; the traceback helps nobody at the bench.
            from bringup.db.engine import DatabaseError
            from bringup.messages import first_line
            from instruments.errors import InstrumentError

            if not isinstance(exc, InstrumentError | DatabaseError | OSError):
                raise
            click.echo(f"error: {first_line(exc)}", err=True)
            sys.exit(EXIT_ABORTED)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    print_report(report)
    sys.exit(0 if report.ok else 1)


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
    sys.exit(_exit_code(report.status))


@main.command()
@STATION_OPTION
@friendly_errors
def estop(station_path: str) -> None:
    """Turn every output of the station off now, even while a run holds the bench."""
    from bringup.estop import emergency_stop
    from bringup.station import load_station

    results = emergency_stop(load_station(station_path))
    for result in results:
        click.echo(f"{result.instrument}: {'OFF' if result.ok else 'FAILED'} — {result.detail}")
    sys.exit(0 if all(r.ok for r in results) else 1)


@main.group()
def db() -> None:
    """The results database."""


@db.command("upgrade")
@DB_OPTION
def db_upgrade(db_url: str | None) -> None:
    """Apply the schema migrations to a (shared) database."""
    from bringup.db.engine import current_revision, make_engine, upgrade_to_head

    engine = make_engine(db_url, upgrade=False)
    before = current_revision(engine)
    upgrade_to_head(engine)
    click.echo(f"{engine.url.render_as_string()}: schema {before or 'empty'} -> {current_revision(engine)}")


@main.group()
def query() -> None:
    """History: runs, failing vectors by corner, Vmin across a lot, what changed between runs."""


@query.command("runs")
@DB_OPTION
@click.option("--chip", default=None, help="Only this chip serial.")
@click.option("--status", default=None, help="Only runs that ended so (passed, failed, interrupted...).")
@click.option("--limit", default=20, show_default=True)
@friendly_errors
def query_runs(db_url: str | None, chip: str | None, status: str | None, limit: int) -> None:
    """Runs, newest first."""
    from bringup.db import queries
    from bringup.history import print_rows, when

    rows = queries.list_runs(_engine(db_url), chip=chip, status=status, limit=limit)
    print_rows("runs", ["run", "chip", "runbook", "status", "started", "reason"],
               [(r.id, r.chip_serial, r.runbook, r.status, when(r.started_at), r.reason) for r in rows])


@query.command("run")
@click.argument("run_id")
@DB_OPTION
@friendly_errors
def query_run(run_id: str, db_url: str | None) -> None:
    """One run: its steps and pass/fail counts."""
    from bringup.db import queries
    from bringup.history import print_rows, when

    engine = _engine(db_url)
    summary = queries.run_summary(engine, _full_run_id(engine, run_id))
    if summary is None:
        raise click.ClickException(f"no run {run_id} — list runs with `bringup query runs`")
    r = summary.run
    click.echo(f"run {r.id}: {r.runbook} on {r.chip_serial} at {r.station}, {r.status} ({r.reason}); "
               f"started {when(r.started_at)}, resumed {r.resume_count}x")
    click.echo(f"measurements {summary.measurements_passed} passed, {summary.measurements_failed} failed; "
               f"vectors {summary.vectors_passed} passed, {summary.vectors_failed} failed")
    print_rows("steps", ["#", "step", "kind", "status", "message"],
               [(s.index + 1, s.name, s.kind, s.status, s.message) for s in summary.steps])


@query.command("failing")
@DB_OPTION
@click.option("--lot", default=None)
@click.option("--chip", default=None)
@friendly_errors
def query_failing(db_url: str | None, lot: str | None, chip: str | None) -> None:
    """Which chips fail which vectors at which corner."""
    from bringup.db import queries
    from bringup.history import print_rows

    rows = queries.failing_vectors(_engine(db_url), lot=lot, chip=chip)
    print_rows("failing vectors", ["chip", "vector", "MHz", "°C", "V", "failures", "runs"],
               [(r.chip_serial, r.vector_name, r.core_mhz, r.temperature_c, r.vdd_core_v, r.failures, r.runs)
                for r in rows])


@query.command("vmin")
@DB_OPTION
@click.option("--lot", required=True)
@friendly_errors
def query_vmin(db_url: str | None, lot: str) -> None:
    """Vmin per chip across a lot, per frequency and temperature, from recorded Vmin searches."""
    from bringup.db import queries
    from bringup.history import print_rows

    rows = queries.vmin_searches(_engine(db_url), lot)
    print_rows(f"Vmin, lot {lot}", ["chip", "wafer", "x", "y", "MHz", "°C", "Vmin (V)", "run"],
               [(r.chip_serial, r.wafer, r.die_x, r.die_y, r.core_mhz, r.temperature_c,
                 "no Vmin search recorded" if r.vmin_v is None else f"{r.vmin_v:.3f}",
                 r.run_id[:8] if r.run_id else None) for r in rows])


@query.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@DB_OPTION
@friendly_errors
def query_diff(run_a: str, run_b: str, db_url: str | None) -> None:
    """What changed between two runs: measurements and vectors whose outcome differs."""
    from bringup.db import queries
    from bringup.history import print_rows

    engine = _engine(db_url)
    rows = queries.diff_runs(engine, _full_run_id(engine, run_a), _full_run_id(engine, run_b))
    print_rows(f"{run_a} -> {run_b}", ["kind", "name", "V", "MHz", "°C", "before", "after"],
               [(c.kind, c.name, c.vdd_core_v, c.core_mhz, c.temperature_c, c.before, c.after) for c in rows])


def _full_run_id(engine: Any, prefix: str) -> str:
    from bringup.db.queries import AmbiguousRunId, resolve_run_id

    try:
        return resolve_run_id(engine, prefix)
    except AmbiguousRunId as exc:
        raise click.ClickException(str(exc)) from None


def _engine(db_url: str | None) -> Any:  # the Engine type would import sqlalchemy at start-up
    from bringup.db.engine import make_engine

    return make_engine(db_url)


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
from bringup.cli_plot import plot  # noqa: E402  (imports only click)

main.add_command(plot)

if __name__ == "__main__":
    main()
