"""What the translated fast path must preserve: self-modifying code, exact budgets, tracing."""

from __future__ import annotations

import pytest
from emulator_programs import BASE, DATA, SIZE, TOHOST, MakeCore, halt

from bringup.emulator import Core, Memory, StopReason, TraceRecord, asm, disassemble


def patch_loop(fence_i: bool) -> list[int]:
    """Run a hot loop (x2 += 1), overwrite its add with `x2 += 100`, run it again."""
    loop_start = BASE + 4 * 4
    new_word = asm.addi(2, 2, 100)
    program = [
        *asm.li(3, new_word),                        # 0, 1
        asm.addi(4, 0, 2),                           # 2: outer passes
        asm.addi(1, 0, 5),                           # 3: inner count
        asm.addi(2, 2, 1),                           # 4 (loop_start): the instruction patched
        asm.addi(1, 1, -1),                          # 5
        asm.bne(1, 0, -8),                           # 6
        *asm.li(5, loop_start),                      # 7, 8
        asm.sw(3, 5, 0),                             # 9: patch
        asm.fence_i() if fence_i else asm.nop(),     # 10
        asm.addi(4, 4, -1),                          # 11
        asm.bne(4, 0, -36),                          # 12: back to 3
        *halt(),
    ]
    return program


@pytest.mark.parametrize("fence_i", [True, False])
def test_stores_into_translated_code_take_effect(make_core: MakeCore, fence_i: bool) -> None:
    core = make_core(patch_loop(fence_i))
    assert core.run(10_000).status is StopReason.HALTED
    assert core.regs[2] == 5 + 500


def test_store_into_the_running_block_is_seen_immediately(make_core: MakeCore) -> None:
    # The store rewrites the very next instruction of the same straight-line block.
    program = [*asm.li(1, asm.addi(7, 0, 42)), *asm.li(2, BASE + 5 * 4), asm.sw(1, 2, 0),
               asm.addi(7, 0, 1), *halt()]
    core = make_core(program)
    assert core.run(100).status is StopReason.HALTED
    assert core.regs[7] == 42


def loop_program() -> list[int]:
    return [*asm.li(6, DATA), asm.addi(1, 0, 37),
            asm.addi(2, 2, 3), asm.lw(3, 6, 0), asm.addi(5, 0, 0), asm.sw(2, 6, 0),
            asm.addi(1, 1, -1), asm.bne(1, 0, -20),
            asm.csrrs(7, 0xB02, 0), asm.jal(8, 8), asm.nop(), *halt()]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 8, 13, 64])
def test_budget_is_exact_across_blocks(make_core: MakeCore, chunk: int) -> None:
    reference = make_core(loop_program())
    reference.translate_after = 10**9
    whole = reference.run(100_000)
    core = make_core(loop_program())
    steps = 0
    while True:
        result = core.run(chunk)
        assert result.steps <= chunk
        steps += result.steps
        if result.status is not StopReason.BUDGET:
            break
        assert result.steps == chunk
    assert (result.status, result.exit_code, steps) == (whole.status, whole.exit_code, whole.steps)
    assert list(core.regs) == list(reference.regs)
    assert core.read_csr("minstret") == reference.read_csr("minstret")
    assert core.regs[7] == 3 + 37 * 6  # minstret read mid-program counts every retired one


def test_zero_budget_runs_nothing(make_core: MakeCore) -> None:
    core = make_core(loop_program())
    result = core.run(0)
    assert (result.status, result.steps, result.pc) == (StopReason.BUDGET, 0, BASE)


def test_hot_loop_keeps_running_in_translated_code() -> None:
    core = Core(Memory([(BASE, SIZE)]), tohost=TOHOST)
    core.load(BASE, asm.program([*asm.li(1, 200_000), asm.addi(1, 1, -1), asm.bne(1, 0, -4),
                                 *halt(3)]))
    core.pc = BASE
    result = core.run(1_000_000)
    assert (result.status, result.exit_code, result.steps) == (StopReason.HALTED, 3, 400_007)


def test_trace_reports_each_instruction() -> None:
    records: list[TraceRecord] = []
    core = Core(Memory([(BASE, SIZE)]), tohost=TOHOST, trace=records.append)
    program = [*asm.li(1, DATA), asm.addi(2, 0, -1), asm.sh(2, 1, 2), asm.ecall()]
    core.load(BASE, asm.program(program))
    core.pc = BASE
    result = core.run(10)
    assert result.status is StopReason.DOUBLE_FAULT
    assert [r.pc for r in records] == [BASE + 4 * i for i in range(5)]
    assert (records[2].rd, records[2].rd_value, records[2].store) == (2, 0xFFFF_FFFF, None)
    assert (records[3].rd, records[3].store) == (None, (DATA + 2, 2, 0xFFFF))
    assert records[4].trap_cause == 11
    assert str(records[2]).split() == [
        f"{BASE + 8:08x}:", "fff00113", "addi", "sp,", "zero,", "-1", "x2=ffffffff"]
    assert str(records[3]).endswith(f"mem[{DATA + 2:08x}]=ffff")
    assert str(records[4]).split()[-3:] == ["ecall", "trap", "cause=11"]


def test_trace_run_matches_untraced_run() -> None:
    def run(trace) -> tuple:
        core = Core(Memory([(BASE, SIZE)]), tohost=TOHOST, trace=trace)
        core.load(BASE, asm.program(loop_program()))
        core.pc = BASE
        return core.run(10_000), list(core.regs)

    lines: list[str] = []
    assert run(lambda record: lines.append(str(record))) == run(None)
    assert len(lines) == run(None)[0].steps


@pytest.mark.parametrize(("word", "text"), [
    (asm.addi(1, 0, 5), "addi ra, zero, 5"),
    (asm.lw(10, 2, -4), "lw a0, -4(sp)"),
    (asm.sw(11, 8, 12), "sw a1, 12(s0)"),
    (asm.csrrw(0, 0x305, 5), "csrrw zero, mtvec, t0"),
    (asm.csrrsi(1, 0x300, 8), "csrrsi ra, mstatus, 8"),
    (asm.srai(5, 6, 3), "srai t0, t1, 3"),
    (asm.mulhsu(5, 6, 7), "mulhsu t0, t1, t2"),
    (asm.lui(5, 0xABCDE), "lui t0, 0xabcde"),
    (asm.fence_i(), "fence.i"),
    (0xFFFF_FFFF, ".word 0xffffffff"),
])
def test_disassembler(word: int, text: str) -> None:
    assert disassemble(word) == text
    assert disassemble(asm.beq(1, 2, -8), pc=0x100) == "beq ra, sp, 0xf8"


def test_a_loop_runs_inside_one_translated_call_although_code_follows_its_branch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks go on past conditional branches (side exits), but a branch back to the block's
    start ends it, so a loop still loops inside its function instead of once per call."""
    from bringup.emulator import translate

    calls = 0
    real_translate = translate.CodeCache.translate

    def counting_translate(self: translate.CodeCache, pc: int) -> translate.Block:
        function, length = real_translate(self, pc)
        if function is None:
            return function, length

        def counted(*args: object) -> tuple[int, int]:
            nonlocal calls
            calls += 1
            return function(*args)

        self.blocks[pc] = (counted, length)
        return counted, length

    monkeypatch.setattr(translate.CodeCache, "translate", counting_translate)
    core = Core(Memory([(BASE, SIZE)]), tohost=TOHOST)
    core.load(BASE, asm.program([*asm.li(1, 100_000), asm.addi(2, 2, 3), asm.addi(1, 1, -1),
                                 asm.bne(1, 0, -8), asm.addi(2, 2, 1), *halt(0)]))
    core.pc = BASE
    result = core.run(1_000_000)
    assert (result.status, core.regs[2]) == (StopReason.HALTED, 300_001)
    assert calls < 10
