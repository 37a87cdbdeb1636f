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

EXIT_INVALID_INPUT = 2


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
@click.option("--station", "station_path", required=True, type=click.Path(dir_okay=False),
              help="Station file (YAML) describing the bench.")
@friendly_errors
def instruments_check(station_path: str) -> None:
    """Open every instrument, print its identity and the rail readbacks: the bench's hello."""
    from bringup.bench_check import check_station, print_report
    from bringup.station import load_station

    report = check_station(load_station(station_path))
    print_report(report)
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option("--chip", default="SIM-0001", show_default=True, help="Serial of the simulated chip.")
@friendly_errors
def demo(chip: str) -> None:
    """Start the simulated lab and check the bench, all in one (no hardware needed)."""
    from bringup.demo import run_demo

    sys.exit(run_demo(chip))


if __name__ == "__main__":
    main()
