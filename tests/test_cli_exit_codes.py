"""Exit codes that mean what the README says, on every command: 2 and one line for invalid
input, 4 and one line (the traceback saved to a log file) for a bug in bringup — also for a
command added to the group later."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bringup.cli import EXIT_INTERNAL_ERROR, EXIT_INVALID_INPUT, main
from bringup.yamlfile import ConfigError

HOSTILE_STATION = "name: bench\nrails: {VDD: {nominal_v: .inf}}\n\x00"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("BRINGUP_LOG_DIR", str(tmp_path / "logs"))
    return CliRunner()


@pytest.fixture
def added_command() -> Iterator[click.Group]:
    """A command registered on the group after the fact, as another module's would be."""
    names = []

    def add(command: click.Command) -> None:
        main.add_command(command)
        names.append(command.name)

    yield add  # type: ignore[misc]
    for name in names:
        main.commands.pop(name, None)


def _station_commands(station: str, runbook: str) -> list[list[str]]:
    return [
        ["instruments", "check", "--station", station],
        ["run", runbook, "--station", station, "--chip", "SIM-1"],
        ["estop", "--station", station],
        ["tui", "--station", station],
    ]


def test_a_hostile_station_file_is_exit_2_and_one_line_on_every_command(runner: CliRunner,
                                                                         tmp_path: Path) -> None:
    station = tmp_path / "station.yaml"
    station.write_text(HOSTILE_STATION)
    runbook = tmp_path / "runbook.yaml"
    runbook.write_text("name: r\nsteps: [{step: power_on}]\n")
    for args in _station_commands(str(station), str(runbook)):
        done = runner.invoke(main, args)
        lines = done.stderr.strip().splitlines()
        assert done.exit_code == EXIT_INVALID_INPUT, (args, done.output, done.stderr)
        assert len(lines) == 1 and lines[0].startswith(f"error: {station}:3: control character"), lines


def test_a_fifo_as_station_file_is_refused_at_once(runner: CliRunner, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "station.yaml"
    os.mkfifo(fifo)
    done = runner.invoke(main, ["estop", "--station", str(fifo)])
    assert done.exit_code == EXIT_INVALID_INPUT
    assert "not a regular file (a FIFO)" in done.stderr


def test_a_bug_is_exit_4_with_the_traceback_in_a_log_file(runner: CliRunner, added_command, tmp_path: Path) -> None:
    @click.command("explode")
    def explode() -> None:
        {}["missing"]  # a bug: an unexpected KeyError deep in a command

    added_command(explode)
    done = runner.invoke(main, ["explode"])
    assert done.exit_code == EXIT_INTERNAL_ERROR
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("error: internal error: KeyError: 'missing'")
    log = Path(re.search(r"the traceback is in (\S+)", lines[0]).group(1))
    assert log.parent == tmp_path / "logs"
    saved = log.read_text()
    assert "Traceback (most recent call last)" in saved and "explode" in saved


def test_a_later_command_gets_exit_2_for_a_config_error(runner: CliRunner, added_command) -> None:
    @click.command("check-thing")
    def check_thing() -> None:
        raise ConfigError("thing.yaml", 7, "bad thing", "fix it")

    added_command(check_thing)
    done = runner.invoke(main, ["check-thing"])
    assert done.exit_code == EXIT_INVALID_INPUT
    assert done.stderr.strip() == "error: thing.yaml:7: bad thing — fix it"


def test_an_unknown_run_id_is_invalid_input(runner: CliRunner, tmp_path: Path) -> None:
    station = tmp_path / "station.yaml"
    station.write_text("name: bench\n")
    db = f"sqlite:///{tmp_path / 'lab.db'}"
    assert runner.invoke(main, ["db", "upgrade", "--db", db]).exit_code == 0  # a database without that run
    done = runner.invoke(main, ["resume", "0000", "--station", str(station), "--db", db])
    assert done.exit_code == EXIT_INVALID_INPUT and "no run id starts with '0000'" in done.stderr


def test_a_command_s_own_refusal_reads_like_every_other_error(runner: CliRunner, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'lab.db'}"
    assert runner.invoke(main, ["db", "upgrade", "--db", db]).exit_code == 0
    for command in (["plot", "shmoo", "0000"], ["query", "run", "0000"],
                    ["report", "0000", "--out", str(tmp_path / "r.html")]):
        done = runner.invoke(main, [*command, "--db", db])
        assert done.exit_code == EXIT_INVALID_INPUT, command
        assert done.stderr.startswith("error: no run id starts with '0000'"), (command, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, command


def test_usage_errors_keep_click_s_own_message(runner: CliRunner) -> None:
    done = runner.invoke(main, ["run"])
    assert done.exit_code == 2 and "Missing argument" in done.stderr
