"""`bringup vectors gen | golden | run` through click, against the reference and the simulated lab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bringup.cli import main
from bringup.simlab import SimLab
from tests.conftest import SIMLAB_TIME_SCALE

DIRECTED = str(Path(__file__).parents[2] / "runbooks" / "vectors" / "directed.yaml")
# A slow (SS) die: fine at the default 500 MHz, some 15 mV short of its Vmin at 1000 MHz.
SLOW_CHIP = "SIM-0080"


@pytest.fixture
def cache(tmp_path: Path) -> str:
    return str(tmp_path / "golden")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["vectors", *args])


def test_gen_writes_a_seeded_suite_that_golden_computes_once(tmp_path: Path, cache: str) -> None:
    first = invoke("gen", "--seed", "7", "--count", "3", "--length", "10", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    invoke("gen", "--seed", "7", "--count", "3", "--length", "10", "--out", str(tmp_path / "b"))
    names = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert names == ["random-7-0.hex", "random-7-1.hex", "random-7-2.hex", "suite.yaml"]
    assert (tmp_path / "a" / "random-7-1.hex").read_text() == (tmp_path / "b" / "random-7-1.hex").read_text()

    computed = invoke("golden", str(tmp_path / "a"), "--cache", cache)
    assert computed.exit_code == 0, computed.output
    assert "3 vectors, 3 computed, 0 already cached" in computed.output
    again = invoke("golden", str(tmp_path / "a" / "suite.yaml"), "--cache", cache)
    assert "3 vectors, 0 computed, 3 already cached" in again.output


def test_run_on_the_reference_passes_the_directed_suite(cache: str) -> None:
    result = invoke("run", DIRECTED, "--reference", "--cache", cache)
    assert result.exit_code == 0, result.output + result.stderr
    assert "4 passed, 0 failed of 4 vectors" in result.output


@pytest.mark.parametrize("args", [(), ("--reference", "--station", DIRECTED)])
def test_run_needs_exactly_one_target(args: tuple[str, ...], cache: str) -> None:
    result = invoke("run", DIRECTED, *args, "--cache", cache)
    assert result.exit_code == 2
    assert "give either --station FILE (a chip) or --reference" in result.stderr


def test_a_broken_suite_is_one_line_and_exit_2(tmp_path: Path, cache: str) -> None:
    suite = tmp_path / "bad.yaml"
    suite.write_text("name: bad\nvectors:\n  - file: missing.hex\n")
    result = invoke("run", str(suite), "--reference", "--cache", cache)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "missing.hex not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_gen_refuses_more_cases_than_fit_in_ram(tmp_path: Path) -> None:
    result = invoke("gen", "--seed", "1", "--count", "1", "--length", "5000", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "generate fewer cases" in result.stderr


def _db(folder: Path) -> str:
    return f"sqlite:///{folder / 'lab.db'}"


@pytest.fixture
def slow_lab() -> Iterator[SimLab]:
    with SimLab(SLOW_CHIP, time_scale=SIMLAB_TIME_SCALE) as lab:
        yield lab


def test_run_on_a_station_passes_then_powers_the_chip_off(slow_lab: SimLab, tmp_path: Path, cache: str) -> None:
    station = str(slow_lab.write_station(tmp_path / "station.yaml"))
    result = invoke("run", DIRECTED, "--station", station, "--chip", SLOW_CHIP, "--db", _db(tmp_path),
                    "--cache", cache)
    assert result.exit_code == 0, result.output + result.stderr
    assert "4 passed, 0 failed of 4 vectors" in result.output
    assert not slow_lab.chip.booted
    # A recorded run of the chip, like `bringup run`: where it is and how to look at it is printed.
    from sqlalchemy import func, select

    from bringup.db.engine import make_engine
    from bringup.db.models import Run, VectorResultRow

    engine = make_engine(_db(tmp_path))
    with engine.connect() as conn:
        run_id, chip_status = conn.execute(select(Run.id, Run.status)).one()
        results = conn.execute(select(func.count()).select_from(VectorResultRow)).scalar_one()
    engine.dispose()
    assert (chip_status, results) == ("passed", 4)
    assert f"recorded as run {run_id} in {_db(tmp_path)}" in result.output


def test_run_on_a_station_needs_the_chip_serial(tmp_path: Path, cache: str) -> None:
    result = invoke("run", DIRECTED, "--station", DIRECTED, "--cache", cache)
    assert result.exit_code == 2
    assert "--station needs --chip SERIAL" in result.stderr


def test_run_past_the_chips_vmin_fails_with_the_flipped_bits(slow_lab: SimLab, tmp_path: Path, cache: str) -> None:
    assert slow_lab.chip.vmin(1000) > 0.79  # above what 0.8 V at the supply leaves at the die
    station = str(slow_lab.write_station(tmp_path / "station.yaml"))
    result = invoke("run", DIRECTED, "--station", station, "--chip", SLOW_CHIP, "--db", _db(tmp_path),
                    "--clock-mhz", "1000", "--cache", cache)
    assert result.exit_code == 1, result.output + result.stderr
    assert "failed of 4 vectors" in result.output
    failures = [line for line in result.output.splitlines() if line.startswith("  FAIL ")]
    assert failures and all("first at 0x8000" in line and "flipped bits" in line for line in failures)
    assert not slow_lab.chip.booted


def test_trace_prints_each_retired_instruction_of_the_reference_run() -> None:
    result = invoke("trace", DIRECTED, "--name", "muldiv", "--limit", "3")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("80000000: ")  # pc, then the instruction word and its disassembly
    assert "x27=" in lines[0]
    assert lines[-1].startswith("muldiv: halted after ") and "exit code 0" in lines[-1]


def test_trace_of_an_unknown_vector_names_the_ones_there() -> None:
    result = invoke("trace", DIRECTED, "--name", "nope")
    assert result.exit_code == 2
    assert "no vector named 'nope' — it has alu, muldiv, branch, march" in result.output
