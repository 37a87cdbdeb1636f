"""The committed directed-suite ELFs are exactly what their sources build to."""

import shutil
import subprocess
from pathlib import Path

import pytest

SUITES = ("alu", "muldiv", "branch", "march")


def installed_toolchain(directed: Path) -> None:
    compiler = shutil.which("riscv64-unknown-elf-gcc")
    if compiler is None:
        pytest.skip("riscv64-unknown-elf-gcc is not installed; the committed ELFs are used as they are")
    recorded = (directed / "toolchain.txt").read_text().splitlines()[0]
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    if version != recorded:
        pytest.skip(f"the ELFs were built by '{recorded}', this machine has '{version}'; "
                    "another toolchain may lay them out differently")


def test_rebuilding_the_directed_suites_reproduces_the_committed_elfs(directed_dir: Path,
                                                                      tmp_path: Path) -> None:
    installed_toolchain(directed_dir)
    subprocess.run(["sh", str(directed_dir / "build.sh"), str(tmp_path)], check=True, capture_output=True)
    for suite in SUITES:
        built = (tmp_path / f"{suite}.elf").read_bytes()
        committed = (directed_dir / f"{suite}.elf").read_bytes()
        assert built == committed, f"{suite}.elf differs from its source: run runbooks/vectors/build.sh"
    assert (tmp_path / "toolchain.txt").read_text() == (directed_dir / "toolchain.txt").read_text()
