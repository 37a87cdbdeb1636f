"""One --db rule for every command: the same option and help everywhere, and a bringup.toml in
the current folder is where writing and reading commands alike find the database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bringup.cli import main
from bringup.cli_options import DB_HELP
from bringup.db.engine import make_engine
from bringup.db.recorder import Recorder
from bringup.events import RunStatus

BRINGUP = shutil.which("bringup", path=str(Path(sys.executable).parent))
WRITING_COMMANDS = [["run"], ["resume"], ["demo"], ["instruments", "clear"], ["vectors", "run"], ["tui"],
                    ["db", "upgrade"], ["db", "replay"]]


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("command", WRITING_COMMANDS, ids=" ".join)
def test_every_writing_command_explains_db_the_same_way(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert flat(DB_HELP) in flat(result.output)


def test_every_db_option_is_the_shared_one() -> None:
    with_db = {" ".join(path): [p for p in command.params if "--db" in getattr(p, "opts", ())]
               for path, command in commands(main)}
    with_db = {path: options for path, options in with_db.items() if options}

    assert {" ".join(c) for c in WRITING_COMMANDS} <= set(with_db)
    for path, (option,) in with_db.items():
        assert (option.help, option.envvar, option.callback is not None) == (DB_HELP, "BRINGUP_DB", True), path


def bringup(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BRINGUP_DB"}
    env["BRINGUP_SPOOL"] = str(folder / "spool")
    return subprocess.run([BRINGUP, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_a_bringup_toml_in_the_current_folder_is_honoured_by_every_command(tmp_path: Path) -> None:
    (tmp_path / "bringup.toml").write_text('db = "station.db"\n')
    database = tmp_path / "station.db"

    replay = bringup(tmp_path, "db", "replay")
    assert replay.returncode == 0, replay.stderr
    assert database.is_file()
    upgrade = bringup(tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert str(database.resolve()) in upgrade.stdout

    engine = make_engine(f"sqlite:///{database}")
    try:
        with Recorder(engine, stale_after_s=None, spool=tmp_path / "spool") as recorder:
            run_id = recorder.start_run("TOML-1")
            recorder.finish_run(RunStatus.PASSED)
    finally:
        engine.dispose()

    runs = bringup(tmp_path, "query", "runs", "--format", "csv")
    assert runs.returncode == 0, runs.stderr
    assert "TOML-1" in runs.stdout
    report = bringup(tmp_path, "report", run_id[:8], "--out", "run.html")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "run.html").is_file()
    assert not (tmp_path / "lab.db").exists()
