"""Every RV32IM instruction, including the corner cases the specification pins down."""

from __future__ import annotations

import pytest
from emulator_programs import BASE, DATA, MakeCore, halt

from bringup.emulator import StopReason, asm

M = 0xFFFF_FFFF
INT_MIN = 0x8000_0000

REGISTER_CASES = [
    ("add", 0xFFFF_FFFF, 1, 0),
    ("add", 0x7FFF_FFFF, 1, INT_MIN),
    ("sub", 0, 1, M),
    ("sub", INT_MIN, 1, 0x7FFF_FFFF),
    ("sll", 1, 31, INT_MIN),
    ("sll", 1, 33, 2),  # shift amount masked to five bits
    ("srl", INT_MIN, 31, 1),
    ("srl", INT_MIN, 63, 1),
    ("sra", INT_MIN, 31, M),
    ("sra", INT_MIN, 36, 0xF800_0000),
    ("sra", 0x4000_0000, 30, 1),
    ("slt", M, 0, 1),
    ("slt", 0, M, 0),
    ("slt", INT_MIN, 0x7FFF_FFFF, 1),
    ("sltu", M, 0, 0),
    ("sltu", 0, M, 1),
    ("xor", 0xF0F0_F0F0, 0xFF00_FF00, 0x0FF0_0FF0),
    ("or", 0xF0F0_0000, 0x0000_0F0F, 0xF0F0_0F0F),
    ("and", 0xF0F0_F0F0, 0xFF00_FF00, 0xF000_F000),
    ("mul", M, M, 1),
    ("mul", 0x1234_5678, 0x9ABC_DEF0, (0x1234_5678 * 0x9ABC_DEF0) & M),
    ("mulh", M, M, 0),
    ("mulh", INT_MIN, INT_MIN, 0x4000_0000),
    ("mulh", INT_MIN, 1, M),
    ("mulhsu", M, M, M),  # -1 * (2**32 - 1)
    ("mulhsu", INT_MIN, M, INT_MIN),
    ("mulhsu", 1, M, 0),
    ("mulhu", M, M, 0xFFFF_FFFE),
    ("mulhu", INT_MIN, 2, 1),
    ("div", 7, 0, M),  # division by zero: all ones
    ("div", INT_MIN, M, INT_MIN),  # signed overflow: the dividend
    ("div", (-7) & M, 2, (-3) & M),  # rounds toward zero
    ("div", 7, (-2) & M, (-3) & M),
    ("divu", 7, 0, M),
    ("divu", M, 2, 0x7FFF_FFFF),
    ("rem", 7, 0, 7),  # remainder by zero: the dividend
    ("rem", INT_MIN, M, 0),  # signed overflow: zero
    ("rem", (-7) & M, 2, M),  # sign of the dividend
    ("rem", 7, (-2) & M, 1),
    ("remu", 7, 0, 7),
    ("remu", M, 10, 5),
]

IMMEDIATE_CASES = [
    ("addi", 5, -6, M),
    ("addi", M, 1, 0),
    ("slti", M, 0, 1),
    ("slti", 0, -1, 0),
    ("sltiu", 0, -1, 1),  # the immediate is sign-extended, then compared unsigned
    ("sltiu", M, -1, 0),
    ("xori", 0x0F, -1, 0xFFFF_FFF0),
    ("ori", 0x100, -2048, 0xFFFF_F900),
    ("andi", M, -2048, 0xFFFF_F800),
    ("andi", M, 0x7FF, 0x7FF),
    ("slli", 1, 31, INT_MIN),
    ("srli", INT_MIN, 31, 1),
    ("srai", INT_MIN, 4, 0xF800_0000),
    ("srai", 0x7000_0000, 4, 0x0700_0000),
]


def run_to_halt(core) -> None:
    result = core.run(10_000)
    assert result.status is StopReason.HALTED, result
    assert result.exit_code == 0


@pytest.mark.parametrize(("op", "a", "b", "expected"), REGISTER_CASES)
def test_register_operations(make_core: MakeCore, op: str, a: int, b: int, expected: int) -> None:
    encode = getattr(asm, op + "_" if op in ("or", "and") else op)
    core = make_core([*asm.li(1, a), *asm.li(2, b), encode(3, 1, 2), *halt()])
    run_to_halt(core)
    assert core.regs[3] == expected
    assert (core.regs[1], core.regs[2]) == (a, b)


@pytest.mark.parametrize(("op", "a", "imm", "expected"), IMMEDIATE_CASES)
def test_immediate_operations(make_core: MakeCore, op: str, a: int, imm: int,
                              expected: int) -> None:
    core = make_core([*asm.li(1, a), getattr(asm, op)(3, 1, imm), *halt()])
    run_to_halt(core)
    assert core.regs[3] == expected


def test_destination_equal_to_source(make_core: MakeCore) -> None:
    core = make_core([*asm.li(1, 6), *asm.li(2, 7), asm.mul(1, 1, 2), asm.sub(2, 1, 2), *halt()])
    run_to_halt(core)
    assert (core.regs[1], core.regs[2]) == (42, 35)


def test_x0_is_hard_wired_to_zero(make_core: MakeCore) -> None:
    core = make_core([asm.addi(0, 0, 5), asm.lui(0, 0x12345), *asm.li(1, DATA),
                      asm.lw(0, 1, 0), asm.jal(0, 4), asm.add(2, 0, 0), *halt()])
    core.write_words(DATA, [0xDEAD_BEEF])
    run_to_halt(core)
    assert core.regs[0] == 0
    assert core.regs[2] == 0


def test_lui_and_auipc(make_core: MakeCore) -> None:
    core = make_core([asm.lui(1, 0xFFFFF), asm.auipc(2, 0x1), asm.auipc(3, 0xFFFFF), *halt()])
    run_to_halt(core)
    assert core.regs[1] == 0xFFFF_F000
    assert core.regs[2] == BASE + 4 + 0x1000
    assert core.regs[3] == (BASE + 8 - 0x1000) & M


LOAD_CASES = [
    ("lb", 0, 0x01), ("lb", 1, 0x7F), ("lb", 2, M), ("lb", 3, 0xFFFF_FF80),
    ("lbu", 2, 0xFF), ("lbu", 3, 0x80),
    ("lh", 0, 0x7F01), ("lh", 2, 0xFFFF_80FF), ("lhu", 2, 0x80FF),
    ("lw", 0, 0x80FF_7F01), ("lw", 4, 0x1234_5678),
    ("lw", 1, 0x7880_FF7F), ("lh", 3, 0x7880), ("lhu", 1, 0xFF7F),  # misaligned, allowed
]


@pytest.mark.parametrize(("op", "offset", "expected"), LOAD_CASES)
def test_loads_sign_and_zero_extend(make_core: MakeCore, op: str, offset: int,
                                    expected: int) -> None:
    core = make_core([*asm.li(1, DATA + 8), getattr(asm, op)(2, 1, offset - 8), *halt()])
    core.write_words(DATA, [0x80FF_7F01, 0x1234_5678])
    run_to_halt(core)
    assert core.regs[2] == expected


@pytest.mark.parametrize(("op", "offset", "expected"), [
    ("sb", 1, [0xAAAA_EFAA, 0xAAAA_AAAA]),
    ("sh", 2, [0xBEEF_AAAA, 0xAAAA_AAAA]),
    ("sw", 0, [0xDEAD_BEEF, 0xAAAA_AAAA]),
    ("sw", 3, [0xEFAA_AAAA, 0xAADE_ADBE]),  # misaligned, allowed
    ("sh", 3, [0xEFAA_AAAA, 0xAAAA_AABE]),
])
def test_stores_write_only_their_width(make_core: MakeCore, op: str, offset: int,
                                       expected: list[int]) -> None:
    core = make_core([*asm.li(1, DATA), *asm.li(2, 0xDEAD_BEEF),
                      getattr(asm, op)(2, 1, offset), *halt()])
    core.write_words(DATA, [0xAAAA_AAAA, 0xAAAA_AAAA])
    run_to_halt(core)
    assert core.read_words(DATA, 2) == expected


BRANCH_CASES = [
    ("beq", 5, 5, True), ("beq", 5, 6, False),
    ("bne", 5, 6, True), ("bne", 5, 5, False),
    ("blt", M, 0, True), ("blt", 0, M, False), ("blt", 3, 3, False),
    ("bge", 0, M, True), ("bge", 3, 3, True), ("bge", INT_MIN, 0, False),
    ("bltu", 0, M, True), ("bltu", M, 0, False),
    ("bgeu", M, 0, True), ("bgeu", 0, M, False), ("bgeu", 3, 3, True),
]


@pytest.mark.parametrize(("op", "a", "b", "taken"), BRANCH_CASES)
def test_branches(make_core: MakeCore, op: str, a: int, b: int, taken: bool) -> None:
    # taken: skip the "addi x3, x0, 1"; not taken: execute it
    core = make_core([*asm.li(1, a), *asm.li(2, b), getattr(asm, op)(1, 2, 8),
                      asm.addi(3, 0, 1), *halt()])
    run_to_halt(core)
    assert core.regs[3] == (0 if taken else 1)


def test_backward_branch_loop(make_core: MakeCore) -> None:
    core = make_core([asm.addi(1, 0, 10), asm.addi(2, 2, 3), asm.addi(1, 1, -1),
                      asm.bne(1, 0, -8), *halt()])
    run_to_halt(core)
    assert core.regs[2] == 30


def test_jal_links_and_jumps(make_core: MakeCore) -> None:
    core = make_core([asm.jal(1, 8), asm.addi(3, 0, 1), *halt()])
    run_to_halt(core)
    assert core.regs[1] == BASE + 4
    assert core.regs[3] == 0


def test_jalr_clears_bit_zero_and_reads_rs1_before_linking(make_core: MakeCore) -> None:
    target = BASE + 6 * 4
    core = make_core([*asm.li(1, target + 1), asm.jalr(1, 1, 0), asm.addi(3, 0, 1),
                      asm.addi(3, 0, 2), asm.addi(3, 0, 3), asm.addi(4, 0, 4), *halt()])
    run_to_halt(core)
    assert core.regs[1] == BASE + 12  # link written after the target was computed
    assert core.regs[3] == 0
    assert core.regs[4] == 4


def test_jalr_negative_offset(make_core: MakeCore) -> None:
    core = make_core([*asm.li(2, BASE + 0x100), asm.jalr(0, 2, -0x100 + 16), asm.addi(3, 0, 1),
                      *halt()])
    run_to_halt(core)
    assert core.regs[3] == 0


def test_fence_and_wfi_are_no_ops(make_core: MakeCore) -> None:
    core = make_core([asm.fence(), asm.wfi(), asm.fence_i(), asm.addi(1, 0, 9), *halt()])
    run_to_halt(core)
    assert core.regs[1] == 9
