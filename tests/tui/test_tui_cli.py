"""`bringup tui` on the command line: listed, and Textual stays out of `bringup --help`."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner
from tui_bench import ROOT

from bringup.cli import main


def test_bringup_help_does_not_import_textual():
    probe = "import sys, bringup.cli; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


def test_tui_is_a_command_with_its_keys_in_the_help():
    result = CliRunner().invoke(main, ["tui", "--help"])
    assert result.exit_code == 0
    assert "--station" in result.output and "--runbooks" in result.output
    assert "p pause/resume" in result.output


def test_tui_refuses_a_missing_station_file_before_starting_the_ui(tmp_path):
    result = CliRunner().invoke(main, ["tui", "--station", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml" in result.output and "does not exist" in result.output
