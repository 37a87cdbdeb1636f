"""MonitorDut on the simulated lab, through the real drivers, station and power controller."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bringup.dut.base import Dut, DutTimeout
from bringup.dut.monitor import DutCommandError
from bringup.simlab.silicon import HANG_BELOW_V
from bringup.vectors import DirectoryCache, generate_program, load_vectors, reference_signature, run_vectors
from tests.dut.conftest import PoweredChip

DIRECTED = Path(__file__).parents[2] / "runbooks" / "vectors" / "directed.yaml"


@pytest.fixture
def cache(tmp_path: Path) -> DirectoryCache:
    return DirectoryCache(tmp_path / "golden")


def test_a_powered_chip_identifies_itself(powered_chip: PoweredChip) -> None:
    dut = powered_chip.dut
    assert isinstance(dut, Dut)
    identity = dut.identify()
    assert identity["chip"] == "SIM-0001"
    assert identity["ram"] == "80000000+00010000"
    assert float(identity["ref_mhz"]) == 25.0


def test_clock_is_set_read_back_and_restored_by_reset(powered_chip: PoweredChip) -> None:
    dut = powered_chip.dut
    assert dut.clock_mhz() == 500
    assert dut.set_clock(812) == 800  # multiplier 32 of the 25 MHz reference
    assert dut.clock_mhz() == 800
    dut.reset()
    assert dut.clock_mhz() == 500


def test_a_refused_command_names_the_chip_and_the_code(powered_chip: PoweredChip) -> None:
    with pytest.raises(DutCommandError, match=r"chip SIM-0001 refused 'CLK 2000': ERR 422") as error:
        powered_chip.dut.set_clock(2000)
    assert error.value.code == 422
    assert powered_chip.dut.clock_mhz() == 500  # unchanged, and the link still in step


def test_load_and_read_back_round_trip_across_chunks(powered_chip: PoweredChip) -> None:
    data = bytes((n * 37 + 11) & 0xFF for n in range(4 * 1500))  # 1500 words: 24 LOADs, 2 DUMPs
    powered_chip.dut.load(0x8000_1000, data)
    assert powered_chip.dut.read_memory(0x8000_1000, len(data)) == data
    assert powered_chip.dut.read_memory(0x8000_1000 + 3, 5) == data[3:8]


def test_die_temperature_is_near_the_air_with_self_heating(powered_chip: PoweredChip) -> None:
    assert 25.0 <= powered_chip.dut.die_temperature() < 40.0


def test_directed_suite_passes_at_nominal(powered_chip: PoweredChip, cache: DirectoryCache) -> None:
    summary = run_vectors(powered_chip.dut, load_vectors(DIRECTED), cache)
    assert [outcome.describe() for outcome in summary.outcomes if not outcome.passed] == []
    assert summary.passed == 4
    assert all(outcome.run_result.status == "exit" for outcome in summary.outcomes)


def test_a_batch_of_random_vectors_passes_at_nominal(powered_chip: PoweredChip, cache: DirectoryCache) -> None:
    vectors = [generate_program(f"dut-test-{i}", 30).vector for i in range(8)]
    summary = run_vectors(powered_chip.dut, vectors, cache)
    assert [outcome.describe() for outcome in summary.outcomes if not outcome.passed] == []


def test_run_reports_the_tohost_exit_and_steps_at_a_raised_clock(powered_chip: PoweredChip) -> None:
    dut = powered_chip.dut
    vector = generate_program("dut-test-clock", 20).vector
    dut.load(vector.load_address, vector.image)
    assert dut.set_clock(800) == 800
    outcome = dut.run(vector.entry, vector.max_steps, tohost=vector.tohost)
    assert (outcome.status, outcome.exit_code) == ("exit", 0)
    assert 0 < outcome.steps < vector.max_steps
    assert outcome.seconds > 0
    signature = dut.read_memory(vector.signature_start, vector.signature_end - vector.signature_start)
    assert signature == reference_signature(vector)


def test_without_tohost_the_run_uses_its_whole_budget(powered_chip: PoweredChip) -> None:
    vector = generate_program("dut-test-budget", 5).vector
    powered_chip.dut.load(vector.load_address, vector.image)
    outcome = powered_chip.dut.run(vector.entry, 5000)  # it spins after writing tohost
    assert (outcome.status, outcome.exit_code, outcome.steps) == ("timeout", 0, 5000)


def test_below_vmin_signatures_get_reproducible_bit_errors(
    powered_chip: PoweredChip, cache: DirectoryCache
) -> None:
    vectors = load_vectors(DIRECTED)
    powered_chip.set_core_margin(-0.030)
    first = run_vectors(powered_chip.dut, vectors, cache)
    again = run_vectors(powered_chip.dut, vectors, cache)
    assert first.failed == len(vectors)
    for outcome in first.outcomes:
        comparison = outcome.comparison
        assert comparison.first_mismatch_address is not None
        assert outcome.vector.signature_start <= comparison.first_mismatch_address < outcome.vector.signature_end
        assert comparison.flipped_bits != 0
        assert outcome.halted and outcome.exit_code == 0  # the run ended; its results are wrong
    # The same die at the same operating point flips the same bits.
    assert [o.comparison.mismatches for o in again.outcomes] == [o.comparison.mismatches for o in first.outcomes]
    # Back above Vmin the chip computes correctly again.
    powered_chip.set_core_margin(+0.050)
    assert run_vectors(powered_chip.dut, vectors, cache).all_passed


def test_far_below_vmin_a_hung_chip_times_out_and_recovers_by_power_cycle(
    powered_chip: PoweredChip, cache: DirectoryCache
) -> None:
    vectors = load_vectors(DIRECTED)[:1]
    powered_chip.set_core_margin(-(HANG_BELOW_V + 0.020))
    started = time.monotonic()
    with pytest.raises(DutTimeout, match="SIM-0001 did not answer 'RUN"):
        run_vectors(powered_chip.dut, vectors, cache)
    assert time.monotonic() - started < 2.0  # DUT timeout plus the step budget at 1 MIPS
    with pytest.raises(DutTimeout):
        powered_chip.dut.identify()  # still silent: only a power cycle brings it back
    powered_chip.power_cycle()
    assert powered_chip.dut.identify()["chip"] == "SIM-0001"
    assert run_vectors(powered_chip.dut, vectors, cache).all_passed
