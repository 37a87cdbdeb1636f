from pathlib import Path

from bringup.dut.base import Dut
from bringup.vectors import DirectoryCache, generate, load_vectors, run_vectors
from bringup.vectors.runner import VectorOutcome


def test_all_directed_suites_pass_against_golden(dut: Dut, cache: DirectoryCache,
                                                 directed_dir: Path) -> None:
    seen: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, outcome: VectorOutcome) -> None:
        seen.append((done, total, outcome.vector.name))

    summary = run_vectors(dut, load_vectors(directed_dir / "directed.yaml"), cache, progress=progress)
    assert summary.all_passed, "\n".join(outcome.describe() for outcome in summary.outcomes)
    assert seen == [(1, 4, "alu"), (2, 4, "muldiv"), (3, 4, "branch"), (4, 4, "march")]
    assert all(outcome.exit_code == 0 for outcome in summary.outcomes)


def test_generated_vectors_pass_on_the_reference_dut(dut: Dut, cache: DirectoryCache,
                                                     tmp_path: Path) -> None:
    written = generate(seed=3, count=4, length=60, mix=None, out_dir=tmp_path)
    summary = run_vectors(dut, load_vectors(written.suite_file), cache)
    assert (summary.passed, summary.failed) == (4, 0)


def test_a_stuck_bit_shows_as_its_pattern(stuck_bit_dut: type, cache: DirectoryCache,
                                          directed_dir: Path) -> None:
    (alu,) = [v for v in load_vectors(directed_dir / "directed.yaml") if v.name == "alu"]
    faulty = stuck_bit_dut(bit=5, start=alu.signature_start, end=alu.signature_end)
    (outcome,) = run_vectors(faulty, [alu], cache).outcomes
    assert not outcome.passed
    assert outcome.exit_code == 0  # the program itself ran fine; only the read-back is wrong
    comparison = outcome.comparison
    assert comparison.flipped_bits == 1 << 5
    assert comparison.first_mismatch_address == alu.signature_start  # the first record (0) lacks bit 5
    assert all(m.actual & (1 << 5) and not m.expected & (1 << 5) for m in comparison.mismatches)
    assert outcome.describe().startswith("FAIL alu: exited 0; ")


def test_a_program_that_never_reaches_tohost_fails(dut: Dut, cache: DirectoryCache,
                                                   directed_dir: Path) -> None:
    (alu,) = [v for v in load_vectors(directed_dir / "directed.yaml") if v.name == "alu"]
    run_vectors(dut, [alu], cache)  # fills the golden cache with the full budget
    from dataclasses import replace

    from bringup.vectors.runner import run_one

    outcome = run_one(dut, replace(alu, max_steps=50), cache.get(alu.content_hash) or b"")
    assert not outcome.halted and outcome.exit_code is None and not outcome.passed
    assert "did not reach tohost within 50 steps" in outcome.describe()
