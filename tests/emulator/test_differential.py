"""The reference core and Unicorn must agree bit for bit on random programs that do not trap.

Each seed builds a program of ALU and M instructions on edge-biased operands, loads and stores
of every width at every alignment, forward branches, jumps with links, and counted loops
(which the translator turns into self-looping blocks). Half the seeds run the Python core
interpreted-first (the default), half translated from the first instruction.
"""

from __future__ import annotations

import random

import pytest
from emulator_programs import BASE, DATA, SIZE, TOHOST, halt

from bringup.emulator import StopReason, asm, make_backend

pytest.importorskip("unicorn")

SEEDS = range(500)
EDGE_VALUES = [0, 1, 2, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF, 0xFFFF_FFFE,
               0xFFFF, 0x10000, 31, 32, 33]
WORK_REGS = list(range(1, 16))
DATA_BASE_REG = 16
LINK_REG = 17
LOOP_REG = 18
ALU_REG_OPS = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or_", "and_",
               "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"]
ALU_IMM_OPS = ["addi", "slti", "sltiu", "xori", "ori", "andi"]
SHIFT_IMM_OPS = ["slli", "srli", "srai"]
LOAD_OPS = ["lb", "lh", "lw", "lbu", "lhu"]
STORE_OPS = ["sb", "sh", "sw"]
BRANCH_OPS = ["beq", "bne", "blt", "bge", "bltu", "bgeu"]
DATA_BYTES = 256


@pytest.fixture(params=["native block counter", "qemu count"])
def counting(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on each way the Unicorn backend counts steps (see block_counter)."""
    from bringup.emulator import block_counter

    if request.param == "qemu count":
        monkeypatch.setattr(block_counter, "attach", lambda uc, state: False)
    elif block_counter.native_block_hook() is None:
        pytest.skip("numba is not installed: the native block counter is off")
    return request.param


def random_value(rng: random.Random) -> int:
    if rng.random() < 0.6:
        return rng.choice(EDGE_VALUES)
    return rng.getrandbits(32)


def alu(rng: random.Random) -> int:
    rd, rs1, rs2 = rng.choice(WORK_REGS), rng.choice(WORK_REGS), rng.choice(WORK_REGS)
    kind = rng.random()
    if kind < 0.5:
        return getattr(asm, rng.choice(ALU_REG_OPS))(rd, rs1, rs2)
    if kind < 0.8:
        return getattr(asm, rng.choice(ALU_IMM_OPS))(rd, rs1, rng.randint(-2048, 2047))
    if kind < 0.9:
        return getattr(asm, rng.choice(SHIFT_IMM_OPS))(rd, rs1, rng.randint(0, 31))
    return rng.choice([asm.lui, asm.auipc])(rd, rng.getrandbits(20))


def memory_access(rng: random.Random) -> int:
    offset = rng.randint(0, DATA_BYTES - 4)
    reg = rng.choice(WORK_REGS)
    if rng.random() < 0.5:
        return getattr(asm, rng.choice(LOAD_OPS))(reg, DATA_BASE_REG, offset)
    return getattr(asm, rng.choice(STORE_OPS))(reg, DATA_BASE_REG, offset)


def straight_line(rng: random.Random, count: int) -> list[int]:
    return [alu(rng) if rng.random() < 0.6 else memory_access(rng) for _ in range(count)]


def random_program(seed: int, data: int = DATA) -> list[int]:
    rng = random.Random(seed)
    words: list[int] = [*asm.li(DATA_BASE_REG, data)]
    for reg in WORK_REGS:
        words += asm.li(reg, random_value(rng))
    for _ in range(rng.randint(3, 8)):
        piece = rng.random()
        if piece < 0.45:
            words += straight_line(rng, rng.randint(1, 8))
        elif piece < 0.7:  # forward branch over a few instructions
            body = straight_line(rng, rng.randint(1, 4))
            op = getattr(asm, rng.choice(BRANCH_OPS))
            words += [op(rng.choice(WORK_REGS), rng.choice(WORK_REGS), 4 * (len(body) + 1)), *body]
        elif piece < 0.8:  # jal over a few instructions, linking
            body = straight_line(rng, rng.randint(0, 3))
            words += [asm.jal(rng.choice(WORK_REGS), 4 * (len(body) + 1)), *body]
        elif piece < 0.88:  # jalr through auipc, with bit 0 set in the target
            body = straight_line(rng, rng.randint(0, 3))
            words += [asm.auipc(LINK_REG, 0),
                      asm.jalr(rng.choice(WORK_REGS), LINK_REG, 4 * (len(body) + 2) + 1), *body]
        else:  # counted loop: a self-looping block when translated
            body = straight_line(rng, rng.randint(1, 6))
            words += [asm.addi(LOOP_REG, 0, rng.randint(1, 40)), *body,
                      asm.addi(LOOP_REG, LOOP_REG, -1), asm.bne(LOOP_REG, 0, -4 * (len(body) + 1))]
    return words + halt(rng.randint(0, 100))


def loaded(kind: str, words: list[int], initial_data: bytes, translate_after: int | None = None,
           data: int = DATA):
    backend = make_backend(kind, [(BASE, SIZE)], tohost=TOHOST)
    if translate_after is not None:
        backend.core.translate_after = translate_after
    backend.load(BASE, asm.program(words))
    backend.load(data, initial_data)
    backend.pc = BASE
    return backend


def state(backend, result, data: int = DATA):
    return result, backend.regs, backend.read_bytes(data, DATA_BYTES)


def run(kind: str, words: list[int], initial_data: bytes, translate_after: int | None,
        data: int = DATA, budget: int = 100_000):
    backend = loaded(kind, words, initial_data, translate_after, data)
    return state(backend, backend.run(budget), data)


def mismatching_seeds(seeds: range, data: int = DATA) -> list[int]:
    mismatches = []
    for seed in seeds:
        words = random_program(seed, data)
        initial = random.Random(~seed).randbytes(DATA_BYTES)
        translate_after = 0 if seed % 2 else None
        expected = run("unicorn", words, initial, None, data)
        actual = run("python", words, initial, translate_after, data)
        assert expected[0].status is StopReason.HALTED, (seed, expected[0])
        if actual != expected:
            mismatches.append(seed)
    return mismatches


def test_python_and_unicorn_agree_on_random_programs(counting: str) -> None:
    seeds = SEEDS if counting == "native block counter" else range(SEEDS.start, 100)
    mismatches = mismatching_seeds(seeds)
    assert not mismatches, f"python and unicorn disagree on seeds {mismatches[:20]}"


@pytest.mark.slow
@pytest.mark.timeout(900)  # a few minutes on 2 shared cores
def test_python_and_unicorn_agree_on_many_more_random_programs(
        request: pytest.FixtureRequest) -> None:
    if "slow" not in request.config.getoption("markexpr"):
        pytest.skip("20,000-program fuzz (minutes): run with -m slow")
    mismatches = mismatching_seeds(range(SEEDS.stop, SEEDS.stop + 20_000))
    assert not mismatches, f"python and unicorn disagree on seeds {mismatches[:20]}"


def test_each_counting_mode_is_the_one_under_test(counting: str) -> None:
    assert loaded("unicorn", halt(0), bytes(DATA_BYTES)).counting == counting


def test_generator_covers_every_instruction_kind() -> None:
    from bringup.emulator.isa import decode

    ops = {decode(word).op for seed in range(100) for word in random_program(seed)}
    expected = {op.rstrip("_") for op in
                ALU_REG_OPS + ALU_IMM_OPS + SHIFT_IMM_OPS + LOAD_OPS + STORE_OPS + BRANCH_OPS}
    assert expected | {"jal", "jalr", "lui", "auipc"} <= ops


# The Unicorn backend runs QEMU in chunks of CHUNK instructions and finds where a run stopped
# by replaying a chunk from a snapshot (bisection); a tiny CHUNK puts every halt in a later
# chunk and every kind of stop at a chunk edge somewhere.
@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
def test_agree_when_runs_span_many_chunks(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    from bringup.emulator import block_counter, unicorn_backend

    monkeypatch.setattr(block_counter, "attach", lambda uc, state: False)
    monkeypatch.setattr(unicorn_backend, "CHUNK", chunk)
    mismatches = mismatching_seeds(range(1000, 1040))
    assert not mismatches, f"chunk {chunk}: python and unicorn disagree on seeds {mismatches}"


def test_agree_when_the_budget_ends_the_run_anywhere(monkeypatch: pytest.MonkeyPatch,
                                                    counting: str) -> None:
    from bringup.emulator import unicorn_backend

    monkeypatch.setattr(unicorn_backend, "CHUNK", 16)
    for seed in range(2000, 2040):
        words = random_program(seed)
        initial = random.Random(~seed).randbytes(DATA_BYTES)
        total = run("python", words, initial, None)[0].steps
        budget = random.Random(seed).randrange(total)  # stops before the tohost store
        expected = run("python", words, initial, None, budget=budget)
        assert expected[0].status is StopReason.BUDGET and expected[0].steps == budget
        assert run("unicorn", words, initial, None, budget=budget) == expected, seed
        # continuing a budget-stopped run ends where one uninterrupted run ends
        backend = loaded("unicorn", words, initial)
        backend.run(budget)
        rest = backend.run(100_000)
        assert rest.steps == total - budget, seed
        assert state(backend, rest)[1:] == run("python", words, initial, None)[1:], seed


def test_agree_when_data_shares_the_tohost_page(counting: str) -> None:
    """tohost's page is write-protected to catch the halt; data stores into that page make the
    backend switch to a write hook on the tohost word, without losing or repeating a store."""
    beside_tohost = TOHOST + 0x100
    mismatches = mismatching_seeds(range(3000, 3040), data=beside_tohost)
    assert not mismatches, f"python and unicorn disagree on seeds {mismatches}"
    switched = 0
    for seed in range(3000, 3040):
        backend = loaded("unicorn", random_program(seed, beside_tohost), bytes(DATA_BYTES),
                         data=beside_tohost)
        backend.run(100_000)
        switched += not backend.protected
    assert switched > 20  # the programs that store data did take the switch


TRAPPING = {
    "ecall": [asm.ecall()],
    "ebreak": [asm.ebreak()],
    "illegal instruction": [0xFFFF_FFFF],
    "load outside memory": [asm.lw(5, 0, 0x10)],
    "store outside memory": [asm.sw(5, 0, 0x10)],
}


@pytest.mark.parametrize("name", sorted(TRAPPING))
def test_unicorn_stops_at_a_trap_where_the_reference_takes_it(name: str, counting: str) -> None:
    """TRAP: pc is the trapping instruction (the reference's mepc) and steps count it."""
    loop = [asm.addi(LOOP_REG, 0, 25), asm.addi(5, 5, 3), asm.addi(LOOP_REG, LOOP_REG, -1),
            asm.bne(LOOP_REG, 0, -8)]
    words = [*loop, *TRAPPING[name], *halt(0)]
    unicorn = loaded("unicorn", words, bytes(DATA_BYTES))
    result = unicorn.run(100_000)
    assert result.status is StopReason.TRAP
    assert result.pc == BASE + 4 * len(loop)
    assert result.steps == 1 + 3 * 25 + 1
    python = loaded("python", words, bytes(DATA_BYTES))
    python.run(result.steps)
    assert python.core.read_csr("mepc") == result.pc
    assert python.regs == unicorn.regs


def rewriting_loop(fence_i: bool) -> list[int]:
    """Two passes through a block that, in the first, stores a new instruction over its own
    first instruction (``addi x5, x0, 7`` becomes ``addi x5, x0, 42``); x10 sums x5."""
    target = 14
    words = [*asm.li(6, BASE + 4 * target), *asm.li(7, asm.addi(5, 0, 42)), asm.addi(9, 0, 2)]
    loop = len(words)
    words.append(asm.jal(0, 4 * (target - loop)))
    words += [asm.addi(0, 0, 0)] * (target - len(words))
    words += [asm.addi(5, 0, 7), asm.add(10, 10, 5), asm.sw(7, 6, 0)]
    words += [0x0000_100F] if fence_i else []
    words += [asm.addi(9, 9, -1)]
    words.append(asm.bne(9, 0, 4 * (loop - len(words))))
    return words + halt(0)


@pytest.mark.parametrize("fence_i", [True, False], ids=["fence.i", "no fence.i"])
def test_agree_on_code_that_rewrites_a_block_it_left(counting: str, fence_i: bool) -> None:
    """The store lands in a block that ends before the next pass begins, so both backends run
    the new instruction. (A store into the very block being run, with no fence.i between, may
    run the old instruction on the native block counter: RISC-V allows either without fence.i.)"""
    words = rewriting_loop(fence_i)
    expected = run("python", words, bytes(DATA_BYTES), None)
    assert expected[1][10] == 7 + 42
    assert run("unicorn", words, bytes(DATA_BYTES), None) == expected


def test_a_native_counter_that_cannot_compile_falls_back_to_qemu_count(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    numba = pytest.importorskip("numba")
    from bringup.emulator import block_counter

    def cannot_compile(*args: object, **kwargs: object) -> object:
        raise RuntimeError("LLVM cannot target this machine")

    monkeypatch.setattr(numba, "cfunc", cannot_compile)
    block_counter.native_block_hook.cache_clear()
    try:
        words = rewriting_loop(fence_i=True)
        backend = loaded("unicorn", words, bytes(DATA_BYTES))
        assert backend.counting == "qemu count"
        assert "did not compile (LLVM cannot target this machine)" in caplog.text
        assert state(backend, backend.run(100_000)) == run("python", words, bytes(DATA_BYTES), None)
    finally:
        block_counter.native_block_hook.cache_clear()  # the next test compiles the real one


def long_loop(iterations: int) -> list[int]:
    """A counted loop of a load, an add, a store and the count: 4 steps an iteration."""
    return [*asm.li(LOOP_REG, iterations), *asm.li(DATA_BASE_REG, DATA),
            asm.lw(5, DATA_BASE_REG, 0), asm.addi(5, 5, 3), asm.sw(5, DATA_BASE_REG, 0),
            asm.addi(LOOP_REG, LOOP_REG, -1), asm.bne(LOOP_REG, 0, -16), *halt(7)]


def test_agree_when_long_runs_span_many_native_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """The native counter hands back to Python every NATIVE_SEGMENT steps; a run, and a budget
    anywhere in it, end exactly where the reference's do."""
    from bringup.emulator import block_counter, unicorn_backend

    if block_counter.native_block_hook() is None:
        pytest.skip("numba is not installed: the native block counter is off")
    monkeypatch.setattr(unicorn_backend, "NATIVE_SEGMENT", 1024)
    words = long_loop(5_000)
    expected = run("python", words, bytes(DATA_BYTES), None)
    assert expected[0].status is StopReason.HALTED and expected[0].steps > 20 * 1024
    assert run("unicorn", words, bytes(DATA_BYTES), None) == expected
    for budget in (1024, 1025, 4096 + 3, random.Random(5).randrange(expected[0].steps)):
        assert run("unicorn", words, bytes(DATA_BYTES), None, budget=budget) == \
            run("python", words, bytes(DATA_BYTES), None, budget=budget), budget


@pytest.mark.timeout(60)
def test_a_signal_interrupts_a_long_run_within_a_segment(counting: str) -> None:
    """Ctrl-C (here SIGALRM) reaches Python while QEMU runs a program that never halts."""
    import signal

    class Interrupted(Exception):
        pass

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    forever = [asm.addi(5, 5, 1), asm.jal(0, -4)]
    backend = loaded("unicorn", forever, bytes(DATA_BYTES))
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Interrupted):
            backend.run(10**15)  # hours of steps: only a segment boundary lets the signal in
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
