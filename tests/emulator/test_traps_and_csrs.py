"""Machine-mode traps (cause codes, mepc, mtval, mstatus) and the Zicsr registers."""

from __future__ import annotations

import pytest
from emulator_programs import BASE, DATA, HANDLER, MakeCore, halt

from bringup.emulator import StopReason, asm, csr

M = 0xFFFF_FFFF


def with_handler(body: list[int]) -> list[int]:
    """Point mtvec at HANDLER, then run ``body``; the handler halts with exit code 7."""
    return [*asm.li(5, HANDLER), asm.csrrw(0, csr.MTVEC, 5), *body]


HALT_7 = halt(7)


def trap_state(core) -> tuple[int, int, int]:
    return core.read_csr("mcause"), core.read_csr("mepc"), core.read_csr("mtval")


def run_trap(core) -> None:
    result = core.run(1000)
    assert (result.status, result.exit_code) == (StopReason.HALTED, 7), result


def test_illegal_instruction_reports_the_word(make_core: MakeCore) -> None:
    core = make_core(with_handler([0xFFFF_FFFF, *halt()]), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (2, BASE + 12, 0xFFFF_FFFF)


@pytest.mark.parametrize("word", [0x0000_0000, 0x0200_9013, 0x4000_1033, 0x0000_3003,
                                  0x0000_3023, 0x0000_2063, 0x0000_1067, 0x0000_4073,
                                  0x0020_0073])
def test_reserved_encodings_are_illegal(make_core: MakeCore, word: int) -> None:
    core = make_core(with_handler([word]), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (2, BASE + 12, word)


def test_ebreak_and_ecall_causes(make_core: MakeCore) -> None:
    core = make_core(with_handler([asm.ebreak()]), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (3, BASE + 12, BASE + 12)
    core = make_core(with_handler([asm.ecall()]), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (11, BASE + 12, 0)


@pytest.mark.parametrize(("body", "cause", "tval"), [
    ([*asm.li(1, 0x1000), asm.lw(2, 1, 4)], 5, 0x1004),
    ([*asm.li(1, 0x1000), asm.sb(2, 1, 0)], 7, 0x1000),
    ([*asm.li(1, BASE + 0x1_0000 - 2), asm.lw(2, 1, 0)], 5, BASE + 0x1_0000 - 2),  # straddles
])
def test_access_faults(make_core: MakeCore, body: list[int], cause: int, tval: int) -> None:
    core = make_core(with_handler(body), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (cause, BASE + 20, tval)
    assert core.regs[2] == 0  # a faulting load writes nothing


@pytest.mark.parametrize(("op", "offset", "cause"), [
    ("lw", 2, 4), ("lh", 1, 4), ("lhu", 3, 4), ("sw", 1, 6), ("sh", 3, 6),
])
def test_misaligned_accesses_trap_when_configured(make_core: MakeCore, op: str, offset: int,
                                                  cause: int) -> None:
    body = [*asm.li(1, DATA), getattr(asm, op)(2, 1, offset)]
    core = make_core(with_handler(body), handler=HALT_7, misaligned="trap")
    core.write_words(DATA, [0x1111_1111, 0x2222_2222])
    run_trap(core)
    assert trap_state(core) == (cause, BASE + 20, DATA + offset)
    assert core.read_words(DATA, 2) == [0x1111_1111, 0x2222_2222]


def test_aligned_accesses_do_not_trap_in_trap_mode(make_core: MakeCore) -> None:
    core = make_core([*asm.li(1, DATA), asm.lb(2, 1, 3), asm.lh(3, 1, 2), asm.sw(3, 1, 4),
                      *halt()], misaligned="trap")
    core.write_words(DATA, [0x8000_0000])
    assert core.run(100).status is StopReason.HALTED
    assert core.read_words(DATA + 4, 1) == [0xFFFF_8000]


def test_misaligned_jump_target_traps_on_the_jump(make_core: MakeCore) -> None:
    core = make_core(with_handler([*asm.li(1, BASE + 0x102), asm.jalr(3, 1, 0)]), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (0, BASE + 20, BASE + 0x102)
    assert core.regs[3] == 0  # the link register is not written
    core = make_core(with_handler([asm.addi(1, 0, 1), asm.bne(1, 0, 6)]), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (0, BASE + 16, BASE + 22)


def test_instruction_access_fault(make_core: MakeCore) -> None:
    core = make_core(with_handler([*asm.li(1, 0x2000), asm.jalr(0, 1, 0)]), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (1, 0x2000, 0x2000)


def test_trap_without_a_handler_is_a_double_fault(make_core: MakeCore) -> None:
    core = make_core([asm.addi(1, 0, 1), asm.ecall(), *halt()])  # mtvec = 0: no RAM there
    result = core.run(1000)
    assert result.status is StopReason.DOUBLE_FAULT
    assert result.steps == 2
    assert result.pc == 0
    assert trap_state(core) == (11, BASE + 4, 0)  # the original trap is still visible


def test_trap_and_mret_update_mstatus(make_core: MakeCore) -> None:
    handler = [
        asm.csrrs(10, csr.MSTATUS, 0),  # mstatus inside the handler
        asm.csrrs(11, csr.MEPC, 0), asm.addi(11, 11, 4), asm.csrrw(0, csr.MEPC, 11),
        asm.mret(),
    ]
    body = [asm.csrrsi(0, csr.MSTATUS, 8), asm.ecall(), asm.csrrs(12, csr.MSTATUS, 0), *halt()]
    core = make_core(with_handler(body), handler=handler)
    assert core.run(1000).status is StopReason.HALTED
    assert core.regs[10] == 0x1880  # MPP=M, MPIE=1 (old MIE), MIE=0
    assert core.regs[12] == 0x1888  # after mret: MIE=MPIE=1, MPIE=1


def test_csr_read_write_set_clear_forms(make_core: MakeCore) -> None:
    S = csr.MSCRATCH
    core = make_core([
        *asm.li(1, 0xF0F0_F0F0), asm.csrrw(2, S, 1),  # x2 = 0 (old)
        *asm.li(1, 0x0000_000F), asm.csrrs(3, S, 1),  # x3 = f0f0f0f0
        *asm.li(1, 0x0000_00F0), asm.csrrc(4, S, 1),  # x4 = f0f0f0ff
        asm.csrrwi(5, S, 0x15), asm.csrrsi(6, S, 0x2), asm.csrrci(7, S, 0x1),
        asm.csrrs(8, S, 0), *halt()])
    assert core.run(1000).status is StopReason.HALTED
    assert [core.regs[i] for i in range(2, 9)] == [
        0, 0xF0F0_F0F0, 0xF0F0_F0FF, 0xF0F0_F00F, 0x15, 0x17, 0x16]


def test_identification_and_warl_registers(make_core: MakeCore) -> None:
    core = make_core([
        asm.csrrs(1, csr.MISA, 0), asm.csrrs(2, csr.MHARTID, 0), asm.csrrs(3, csr.MVENDORID, 0),
        asm.addi(4, 0, -1), asm.csrrw(0, csr.MTVEC, 4), asm.csrrs(5, csr.MTVEC, 0),
        asm.csrrw(0, csr.MEPC, 4), asm.csrrs(6, csr.MEPC, 0),
        asm.csrrw(0, csr.MIE, 4), asm.csrrs(7, csr.MIE, 0),
        asm.csrrw(0, csr.MIP, 4), asm.csrrs(8, csr.MIP, 0),
        asm.csrrw(0, csr.MISA, 0), asm.csrrs(9, csr.MISA, 0), *halt()])
    assert core.run(1000).status is StopReason.HALTED
    regs = list(core.regs)
    assert regs[1] == regs[9] == 0x4000_1100  # RV32, I and M
    assert (regs[2], regs[3]) == (0, 0)
    assert regs[5] == 0xFFFF_FFFC  # direct mode only
    assert regs[6] == 0xFFFF_FFFC
    assert regs[7] == 0x888
    assert regs[8] == 0


@pytest.mark.parametrize("word", [
    asm.csrrw(0, csr.MHARTID, 1), asm.csrrs(0, csr.CYCLE, 1), asm.csrrwi(0, csr.INSTRET, 0),
    asm.csrrw(1, csr.TIMEH, 0), asm.csrrs(1, 0x7C0, 0),
])
def test_writes_to_read_only_or_unknown_csrs_are_illegal(make_core: MakeCore, word: int) -> None:
    core = make_core(with_handler([asm.addi(1, 0, 3), word]), handler=HALT_7)
    run_trap(core)
    assert trap_state(core) == (2, BASE + 16, word)


def test_reading_read_only_csrs_with_x0_source_is_legal(make_core: MakeCore) -> None:
    core = make_core([asm.csrrs(1, csr.CYCLE, 0), asm.csrrsi(2, csr.MHARTID, 0), *halt()])
    assert core.run(100).status is StopReason.HALTED


def test_counters_count_steps_and_retired_instructions(make_core: MakeCore) -> None:
    handler = [asm.csrrs(11, csr.MEPC, 0), asm.addi(11, 11, 4), asm.csrrw(0, csr.MEPC, 11),
               asm.mret()]
    body = [asm.ecall(), asm.nop(), asm.csrrs(20, csr.MCYCLE, 0), asm.csrrs(21, csr.MINSTRET, 0),
            asm.csrrs(22, csr.CYCLE, 0), asm.csrrs(23, csr.INSTRETH, 0),
            asm.csrrs(24, csr.TIME, 0), *halt()]
    core = make_core(with_handler(body), handler=handler)
    assert core.run(1000).status is StopReason.HALTED
    # 3 setup + ecall (trapped: a cycle, not retired) + 4 handler + nop = 9 cycles before
    assert core.regs[20] == 9
    assert core.regs[21] == 9
    assert core.regs[22] == 11
    assert core.regs[23] == 0
    assert core.regs[24] == 13


def test_counter_writes_are_seen_by_the_next_instruction(make_core: MakeCore) -> None:
    core = make_core([
        *asm.li(1, 1000), asm.csrrw(0, csr.MCYCLE, 1), asm.csrrs(2, csr.MCYCLE, 0),
        asm.csrrw(0, csr.MINSTRET, 1), asm.csrrs(3, csr.INSTRET, 0),
        asm.addi(4, 0, 5), asm.csrrw(0, csr.MINSTRETH, 4), asm.csrrs(5, csr.MINSTRETH, 0),
        asm.csrrs(6, csr.MINSTRET, 0),
        *asm.li(1, 0xFFFF_FFFF), asm.csrrw(0, csr.MCYCLE, 1), asm.nop(),
        asm.csrrs(7, csr.MCYCLEH, 0), *halt()])
    assert core.run(1000).status is StopReason.HALTED
    assert (core.regs[2], core.regs[3], core.regs[5]) == (1000, 1000, 5)
    assert core.regs[6] == 1000 + 3
    assert core.regs[7] == 1  # low half wrapped into the high half


def test_read_csr_by_name_and_unknown_name() -> None:
    from bringup.emulator import Core, Memory

    core = Core(Memory([(0, 0x100)]))
    assert core.read_csr("misa") == 0x4000_1100
    with pytest.raises(ValueError, match="unknown CSR name 'mfoo'"):
        core.read_csr("mfoo")
    assert core.read_csr("mstatus") == 0x1800
