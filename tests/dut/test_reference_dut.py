"""ReferenceDut: the dry-run chip agrees with the simulated chip's monitor on every outcome."""

from __future__ import annotations

from pathlib import Path

from bringup.dut.base import Dut
from bringup.dut.reference import ReferenceDut
from bringup.emulator import asm
from bringup.vectors import DirectoryCache, load_vectors, run_vectors

DIRECTED = Path(__file__).parents[2] / "runbooks" / "vectors" / "directed.yaml"
BASE = 0x8000_0000


def test_a_dry_run_of_the_directed_suite_passes(tmp_path: Path) -> None:
    dut = ReferenceDut()
    assert isinstance(dut, Dut)
    summary = run_vectors(dut, load_vectors(DIRECTED), DirectoryCache(tmp_path))
    assert [outcome.describe() for outcome in summary.outcomes if not outcome.passed] == []
    assert [outcome.run_result.status for outcome in summary.outcomes] == ["exit"] * 4


def test_outcomes_match_the_monitor_protocol() -> None:
    dut = ReferenceDut()
    dut.load(BASE, asm.program([asm.addi(10, 0, 1), asm.addi(17, 0, 93), asm.ecall()]))
    exit_call = dut.run(BASE, 1000)
    assert (exit_call.status, exit_call.exit_code, exit_call.steps) == ("exit", 1, 3)
    dut.load(BASE, asm.program([asm.jal(0, 0)]))
    spin = dut.run(BASE, 50)
    assert (spin.status, spin.steps) == ("timeout", 50)
    dut.load(BASE, bytes(4))
    trap = dut.run(BASE, 10)
    assert (trap.status, trap.exit_code) == ("trap", 2)  # illegal instruction


def test_clock_is_remembered_and_reset_restores_the_default() -> None:
    dut = ReferenceDut(clock_mhz=500)
    assert dut.set_clock(800) == 800
    dut.reset()
    assert dut.clock_mhz() == 500
