from dataclasses import replace
from pathlib import Path

import pytest

from bringup.emulator import Core, Memory, StopReason
from bringup.vectors import RAM_BASE, RAM_SIZE, Vector, VectorError, generate, generate_program, load_vectors
from bringup.vectors.generator import DEFAULT_MIX


def run_on_reference(vector: Vector) -> tuple[object, bytes]:
    core = Core(Memory(regions=[(RAM_BASE, RAM_SIZE)]), tohost=vector.tohost)
    core.load(vector.load_address, vector.image)
    core.pc = vector.entry
    result = core.run(max_steps=vector.max_steps)
    return result, core.read_bytes(vector.signature_start, vector.signature_end - vector.signature_start)


def test_same_seed_gives_the_same_vector() -> None:
    assert generate_program(7, 60).vector.content_hash == generate_program(7, 60).vector.content_hash


def test_different_seeds_give_different_programs_and_signatures() -> None:
    first, second = generate_program(1, 60).vector, generate_program(2, 60).vector
    assert first.content_hash != second.content_hash
    assert run_on_reference(first)[1] != run_on_reference(second)[1]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("misaligned", [True, False])
def test_every_program_halts_through_tohost_and_passes_its_own_checks(seed: int, misaligned: bool) -> None:
    vector = generate_program(seed, 120, misaligned=misaligned).vector
    result, signature = run_on_reference(vector)
    assert result.status == StopReason.HALTED  # type: ignore[attr-defined]
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.steps <= vector.max_steps  # type: ignore[attr-defined]
    canary = (0xDEADBEEF).to_bytes(4, "little")
    assert canary not in [signature[i : i + 4] for i in range(0, len(signature), 4)]  # all written


def test_the_program_stays_inside_the_64k_ram() -> None:
    vector = generate_program(3, 400).vector
    assert vector.load_address >= RAM_BASE and vector.end_address <= RAM_BASE + RAM_SIZE
    with pytest.raises(VectorError, match="more than the 64 KiB RAM — generate fewer cases"):
        generate_program(3, 4000)


def test_the_mix_is_honoured() -> None:
    only_muldiv = generate_program(5, 40, {"muldiv": 1})
    assert only_muldiv.category_counts() == {"muldiv": 40}
    mixed = generate_program(5, 400, {"alu": 3, "memory": 1, "branch": 0})
    counts = mixed.category_counts()
    assert set(counts) == {"alu", "memory"}
    assert 2 < counts["alu"] / counts["memory"] < 4.5


def test_misaligned_false_keeps_every_access_aligned() -> None:
    from bringup.emulator import disassemble

    vector = generate_program(9, 200, {"memory": 1}, misaligned=False).vector
    core = Core(Memory(regions=[(RAM_BASE, RAM_SIZE)]), tohost=vector.tohost, misaligned="trap")
    core.load(vector.load_address, vector.image)
    core.pc = vector.entry
    result = core.run(max_steps=vector.max_steps)
    assert result.exit_code == 0, disassemble(int.from_bytes(core.read_bytes(result.pc, 4), "little"))


def test_an_unknown_instruction_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown instruction class fpu in the mix — use alu"):
        generate_program(1, 10, {"fpu": 1})


def test_a_wrong_result_makes_the_program_fail_its_own_check() -> None:
    # Simulate a chip that computes one value wrongly: corrupt the data buffer that loads read.
    program = generate_program(11, 80, {"memory": 1})
    vector = program.vector
    buffer = vector.tohost + 64 - vector.load_address
    corrupted = bytearray(vector.image)
    for offset in range(buffer, buffer + 256):
        corrupted[offset] ^= 0x01
    result, _ = run_on_reference(replace(vector, image=bytes(corrupted)))
    assert result.status == StopReason.HALTED  # type: ignore[attr-defined]
    assert result.exit_code and result.exit_code >= 1  # type: ignore[attr-defined]


def test_generate_writes_a_suite_that_loads_back(tmp_path: Path) -> None:
    written = generate(seed=42, count=3, length=30, mix=DEFAULT_MIX, out_dir=tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "random-42-0.hex", "random-42-1.hex", "random-42-2.hex", "suite.yaml"]
    loaded = load_vectors(written.suite_file)
    assert [v.content_hash for v in loaded] == [v.content_hash for v in written.vectors]
    again = generate(seed=42, count=3, length=30, mix=DEFAULT_MIX, out_dir=tmp_path / "again")
    assert [v.content_hash for v in again.vectors] == [v.content_hash for v in written.vectors]
    assert len({v.content_hash for v in loaded}) == 3
