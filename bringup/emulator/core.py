"""The RV32IM machine-mode core: a careful interpreter plus a dispatcher for translated blocks.

The interpreter (``_step``) is the definition of every instruction and trap. The translator
(``translate.py``) compiles straight-line blocks of the common instructions into Python
functions for speed and hands anything unusual (traps, other regions, tohost, stores into code,
misaligned accesses) back to the interpreter, one instruction at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from bringup.emulator import csr
from bringup.emulator.disasm import disassemble
from bringup.emulator.isa import (
    BRANCHES,
    MASK32,
    Instruction,
    decode,
    sign_extend,
    to_signed,
)
from bringup.emulator.memory import Memory, MemoryAccessError
from bringup.emulator.semantics import ALU, IMMEDIATE_FORMS
from bringup.emulator.trace import TraceRecord
from bringup.emulator.translate import BAIL, CodeCache

M = MASK32

# Exception causes (privileged specification, table "mcause values after trap").
MISALIGNED_FETCH, FETCH_FAULT, ILLEGAL_INSTRUCTION, BREAKPOINT = 0, 1, 2, 3
MISALIGNED_LOAD, LOAD_FAULT, MISALIGNED_STORE, STORE_FAULT = 4, 5, 6, 7
ECALL_FROM_M = 11


class StopReason(StrEnum):
    HALTED = "halted"
    BUDGET = "budget"
    DOUBLE_FAULT = "double_fault"
    TRAP = "trap"


@dataclass(frozen=True, slots=True)
class RunResult:
    status: StopReason
    exit_code: int | None
    steps: int
    pc: int


class _Trap(Exception):
    """Control flow inside the interpreter; never escapes ``Core``."""

    def __init__(self, cause: int, tval: int | None = None) -> None:
        self.cause = cause
        self.tval = tval


class RegisterFile:
    """x0..x31 as a sequence; x0 reads 0 and ignores writes. Values are unsigned 32-bit."""

    def __init__(self, values: list[int]) -> None:
        self._values = values

    def __getitem__(self, index: int) -> int:
        return self._values[index]

    def __setitem__(self, index: int, value: int) -> None:
        if not 0 <= index < 32:
            raise IndexError(f"register x{index} does not exist (use 0..31)")
        if index:
            self._values[index] = value & M

    def __len__(self) -> int:
        return 32

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._values))

    def __repr__(self) -> str:
        return f"RegisterFile({list(self._values)!r})"


_LOAD_SIZES = {"lb": 1, "lh": 2, "lw": 4, "lbu": 1, "lhu": 2}
_STORE_SIZES = {"sb": 1, "sh": 2, "sw": 4}
_SIGNED_LOADS = {"lb": 8, "lh": 16}
_BRANCH_TESTS: dict[str, Callable[[int, int], bool]] = {
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
    "blt": lambda a, b: to_signed(a) < to_signed(b),
    "bge": lambda a, b: to_signed(a) >= to_signed(b),
    "bltu": lambda a, b: a < b,
    "bgeu": lambda a, b: a >= b,
}
_WRITES_RD = frozenset(
    ["lui", "auipc", "jal", "jalr", *_LOAD_SIZES, *ALU, *IMMEDIATE_FORMS,
     "csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"])


class Core:
    """One RV32IM hart in machine mode. See the package docstring for the contract."""

    #: How often a pc is interpreted before its block is translated. Translating costs about a
    #: millisecond, so code that runs once is cheaper to interpret; tests set 0 to force it.
    translate_after = 2

    def __init__(
        self,
        memory: Memory,
        *,
        tohost: int | None = None,
        misaligned: str = "allow",
        trace: Callable[[TraceRecord], None] | None = None,
        reset_pc: int | None = None,
    ) -> None:
        if misaligned not in ("allow", "trap"):
            raise ValueError(f"misaligned={misaligned!r}: use 'allow' or 'trap'")
        self.memory = memory
        self.trace = trace
        self._trap_misaligned = misaligned == "trap"
        self._reset_pc = memory.regions[0][0] if reset_pc is None else reset_pc & M
        self._tohost: int | None = None
        self._code = CodeCache(memory)
        if tohost is not None:
            self._set_tohost(tohost)
        self._x = [0] * 32
        self._decoded: dict[int, Instruction | None] = {}
        self._exec = self._build_exec_table()
        self.reset()

    # ----------------------------------------------------------------------------- public API
    @property
    def pc(self) -> int:
        return self._pc

    @pc.setter
    def pc(self, value: int) -> None:
        self._pc = value & M

    @property
    def regs(self) -> RegisterFile:
        return RegisterFile(self._x)

    @property
    def tohost(self) -> int | None:
        return self._tohost

    def reset(self) -> None:
        self._x[:] = [0] * 32
        self._pc = self._reset_pc
        self._mstatus = 0  # only MIE and MPIE are stored; MPP always reads as machine
        self._mtvec = self._mepc = self._mcause = self._mtval = self._mscratch = self._mie = 0
        self._steps = 0  # every executed instruction, trapping ones included (= cycles)
        self._traps = 0  # executed instructions that trapped instead of retiring
        self._cycle_adjust = 0
        self._instret_adjust = 0
        self._just_trapped = False
        self._halt_code: int | None = None
        self._last_store: tuple[int, int, int] | None = None
        self._code.flush()

    def load(self, address: int, data: bytes) -> None:
        self.memory.write_bytes(address, bytes(data))
        self._code.flush()

    def write_words(self, address: int, words: list[int]) -> None:
        self.memory.write_words(address, words)
        self._code.flush()

    def read_words(self, address: int, count: int) -> list[int]:
        return self.memory.read_words(address, count)

    def read_bytes(self, address: int, length: int) -> bytes:
        return self.memory.read_bytes(address, length)

    def read_csr(self, number_or_name: int | str) -> int:
        number = csr.number_of(number_or_name)
        try:
            return self._csr_read(number)
        except _Trap:
            raise ValueError(f"CSR {csr.name_of(number)} does not exist on this core") from None

    def run(self, max_steps: int) -> RunResult:
        """Execute at most ``max_steps`` instructions; stop early on tohost or a double fault."""
        if max_steps < 0:
            raise ValueError(f"max_steps must be >= 0, not {max_steps}")
        self._halt_code = None
        start = self._steps
        if self.trace is None:
            status = self._run_translated(max_steps)
        else:
            status = self._run_traced(max_steps, self.trace)
        exit_code = self._halt_code if status is StopReason.HALTED else None
        return RunResult(status, exit_code, self._steps - start, self._pc)

    # ------------------------------------------------------------------------------ run loops
    def _run_translated(self, max_steps: int) -> StopReason:
        blocks = self._code.blocks
        cold = self._cold_block
        registers = self._x
        pc = self._pc
        base = self._steps
        steps = 0
        while steps < max_steps:
            entry = blocks.get(pc)
            if entry is None:
                entry = cold(pc)
            function, length = entry
            if length and length <= max_steps - steps:
                pc, done = function(registers, (max_steps - steps) // length)
                steps += done
                if pc < BAIL:
                    continue
                pc -= BAIL  # the instruction at pc needs the interpreter
            self._pc = pc
            self._steps = base + steps
            stop = self._step()
            pc = self._pc
            steps = self._steps - base
            if stop is not None:
                return stop
        self._pc = pc
        self._steps = base + steps
        return StopReason.BUDGET

    def _cold_block(self, pc: int) -> tuple:
        heat = self._code.heat
        count = heat.get(pc, 0) + 1
        if count <= self.translate_after:
            heat[pc] = count
            return CodeCache.INTERPRET
        return self._code.translate(pc)

    def _run_traced(self, max_steps: int, trace: Callable[[TraceRecord], None]) -> StopReason:
        for _ in range(max_steps):
            pc = self._pc
            traps = self._traps
            self._last_store = None
            stop = self._step()
            if stop is StopReason.DOUBLE_FAULT:
                return stop
            trace(self._trace_record(pc, trapped=self._traps != traps))
            if stop is not None:
                return stop
        return StopReason.BUDGET

    def _trace_record(self, pc: int, *, trapped: bool) -> TraceRecord:
        region = self.memory.find(pc, 4)
        if region is None or pc & 3:
            return TraceRecord(pc, None, "<fetch fault>", trap_cause=self._mcause)
        word = int.from_bytes(self.memory.read_bytes(pc, 4), "little")
        text = disassemble(word, pc)
        if trapped:
            return TraceRecord(pc, word, text, trap_cause=self._mcause)
        ins = decode(word)
        rd = ins.rd if ins is not None and ins.op in _WRITES_RD and ins.rd else None
        value = self._x[rd] if rd is not None else None
        return TraceRecord(pc, word, text, rd, value, self._last_store)

    # ---------------------------------------------------------------------------- interpreter
    def _step(self) -> StopReason | None:
        """Execute exactly one instruction (or take its trap)."""
        pc = self._pc
        try:
            word = self._fetch(pc)
        except _Trap as trap:
            if self._just_trapped:
                return StopReason.DOUBLE_FAULT  # the trap handler itself cannot be fetched
            self._take_trap(trap.cause, trap.tval, pc)
            return None
        try:
            ins = self._decoded[word]
        except KeyError:
            ins = self._decoded[word] = decode(word)
        try:
            if ins is None:
                raise _Trap(ILLEGAL_INSTRUCTION)
            self._pc = self._exec[ins.op](ins, pc)
        except _Trap as trap:
            self._take_trap(trap.cause, word if trap.tval is None else trap.tval, pc)
            return None
        self._just_trapped = False
        self._steps += 1
        if self._halt_code is not None:
            return StopReason.HALTED
        return None

    def _fetch(self, pc: int) -> int:
        if pc & 3:
            raise _Trap(MISALIGNED_FETCH, pc)
        region = self.memory.find(pc, 4)
        if region is None:
            raise _Trap(FETCH_FAULT, pc)
        return region.words[(pc - region.base) >> 2]

    def _take_trap(self, cause: int, tval: int, pc: int) -> None:
        self._mepc = pc
        self._mcause = cause
        self._mtval = tval & M
        mie = self._mstatus & csr.MSTATUS_MIE
        self._mstatus = csr.MSTATUS_MPIE if mie else 0
        self._pc = self._mtvec
        self._steps += 1
        self._traps += 1
        self._just_trapped = True

    def _load(self, address: int, size: int) -> int:
        if address & (size - 1) and self._trap_misaligned:
            raise _Trap(MISALIGNED_LOAD, address)
        region = self.memory.find(address, size)
        if region is None:
            raise _Trap(LOAD_FAULT, address)
        offset = address - region.base
        return int.from_bytes(region.data[offset:offset + size], "little")

    def _store(self, address: int, size: int, value: int) -> None:
        if address & (size - 1) and self._trap_misaligned:
            raise _Trap(MISALIGNED_STORE, address)
        region = self.memory.find(address, size)
        if region is None:
            raise _Trap(STORE_FAULT, address)
        offset = address - region.base
        region.data[offset:offset + size] = value.to_bytes(size, "little")
        self._last_store = (address, size, value)
        flags = region.code_words
        if any(flags[offset >> 2:((offset + size - 1) >> 2) + 1]):
            self._code.invalidate(address, size)
        tohost = self._tohost
        if tohost is not None and address < tohost + 4 and tohost < address + size:
            word = int.from_bytes(self.memory.read_bytes(tohost, 4), "little")
            if word & 1:
                self._halt_code = word >> 1

    def _set_tohost(self, address: int) -> None:
        address &= M
        if address & 3:
            raise ValueError(f"tohost {address:#x} must be 4-byte aligned")
        if self.memory.find(address, 4) is None:
            raise MemoryAccessError(
                f"tohost {address:#010x} is outside every memory region; add a region that "
                "covers it (riscv-tests put it in RAM, in the .tohost section)")
        self._tohost = address
        self._code.watch_word(address)

    # ---------------------------------------------------------------------------- instructions
    def _build_exec_table(self) -> dict[str, Callable[[Instruction, int], int]]:
        table: dict[str, Callable[[Instruction, int], int]] = {
            "lui": self._lui, "auipc": self._auipc, "jal": self._jal, "jalr": self._jalr,
            "fence": self._next, "wfi": self._next, "fence.i": self._fence_i,
            "ecall": self._ecall, "ebreak": self._ebreak, "mret": self._mret,
        }
        table.update(dict.fromkeys(BRANCHES.values(), self._branch))
        table.update(dict.fromkeys(_LOAD_SIZES, self._load_op))
        table.update(dict.fromkeys(_STORE_SIZES, self._store_op))
        table.update(dict.fromkeys(ALU, self._alu_reg))
        table.update(dict.fromkeys(IMMEDIATE_FORMS, self._alu_imm))
        table.update(dict.fromkeys(("csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"),
                                   self._csr_op))
        return table

    def _write(self, rd: int, value: int) -> None:
        if rd:
            self._x[rd] = value

    @staticmethod
    def _next(ins: Instruction, pc: int) -> int:
        return (pc + 4) & M

    def _lui(self, ins: Instruction, pc: int) -> int:
        self._write(ins.rd, ins.imm)
        return (pc + 4) & M

    def _auipc(self, ins: Instruction, pc: int) -> int:
        self._write(ins.rd, (pc + ins.imm) & M)
        return (pc + 4) & M

    def _jal(self, ins: Instruction, pc: int) -> int:
        target = (pc + ins.imm) & M
        if target & 3:
            raise _Trap(MISALIGNED_FETCH, target)
        self._write(ins.rd, (pc + 4) & M)
        return target

    def _jalr(self, ins: Instruction, pc: int) -> int:
        target = (self._x[ins.rs1] + ins.imm) & M & ~1
        if target & 3:
            raise _Trap(MISALIGNED_FETCH, target)
        self._write(ins.rd, (pc + 4) & M)
        return target

    def _branch(self, ins: Instruction, pc: int) -> int:
        if not _BRANCH_TESTS[ins.op](self._x[ins.rs1], self._x[ins.rs2]):
            return (pc + 4) & M
        target = (pc + ins.imm) & M
        if target & 3:
            raise _Trap(MISALIGNED_FETCH, target)
        return target

    def _load_op(self, ins: Instruction, pc: int) -> int:
        value = self._load((self._x[ins.rs1] + ins.imm) & M, _LOAD_SIZES[ins.op])
        bits = _SIGNED_LOADS.get(ins.op)
        self._write(ins.rd, sign_extend(value, bits) & M if bits else value)
        return (pc + 4) & M

    def _store_op(self, ins: Instruction, pc: int) -> int:
        size = _STORE_SIZES[ins.op]
        value = self._x[ins.rs2] & ((1 << (8 * size)) - 1)
        self._store((self._x[ins.rs1] + ins.imm) & M, size, value)
        return (pc + 4) & M

    def _alu_reg(self, ins: Instruction, pc: int) -> int:
        self._write(ins.rd, ALU[ins.op](self._x[ins.rs1], self._x[ins.rs2]))
        return (pc + 4) & M

    def _alu_imm(self, ins: Instruction, pc: int) -> int:
        self._write(ins.rd, ALU[IMMEDIATE_FORMS[ins.op]](self._x[ins.rs1], ins.imm & M))
        return (pc + 4) & M

    def _fence_i(self, ins: Instruction, pc: int) -> int:
        self._code.flush()
        return (pc + 4) & M

    def _ecall(self, ins: Instruction, pc: int) -> int:
        raise _Trap(ECALL_FROM_M, 0)

    def _ebreak(self, ins: Instruction, pc: int) -> int:
        raise _Trap(BREAKPOINT, pc)

    def _mret(self, ins: Instruction, pc: int) -> int:
        mpie = self._mstatus & csr.MSTATUS_MPIE
        self._mstatus = (csr.MSTATUS_MIE if mpie else 0) | csr.MSTATUS_MPIE
        return self._mepc

    def _csr_op(self, ins: Instruction, pc: int) -> int:
        op, rd, source, number = ins.op, ins.rd, ins.rs1, ins.imm
        operand = source if op.endswith("i") else self._x[source]
        if op in ("csrrw", "csrrwi"):
            old = self._csr_read(number) if rd else 0
            if csr.is_read_only(number):
                raise _Trap(ILLEGAL_INSTRUCTION)
            self._csr_write(number, operand)
        else:
            old = self._csr_read(number)
            if source:  # rs1 = x0 / uimm = 0 means "read only": no write, no write fault
                if csr.is_read_only(number):
                    raise _Trap(ILLEGAL_INSTRUCTION)
                self._csr_write(number, old | operand if op.startswith("csrrs") else
                                old & ~operand & M)
        self._write(rd, old)
        return (pc + 4) & M

    # ------------------------------------------------------------------------------------ CSRs
    def _cycles(self) -> int:
        return (self._steps + self._cycle_adjust) & 0xFFFF_FFFF_FFFF_FFFF

    def _retired(self) -> int:
        return (self._steps - self._traps + self._instret_adjust) & 0xFFFF_FFFF_FFFF_FFFF

    def _csr_read(self, number: int) -> int:
        if number == csr.MSTATUS:
            return self._mstatus | csr.MSTATUS_MPP_MACHINE
        simple = {
            csr.MISA: csr.MISA_VALUE, csr.MIE: self._mie, csr.MTVEC: self._mtvec,
            csr.MSCRATCH: self._mscratch, csr.MEPC: self._mepc, csr.MCAUSE: self._mcause,
            csr.MTVAL: self._mtval, csr.MIP: 0, csr.MSTATUSH: 0, csr.MVENDORID: 0,
            csr.MARCHID: 0, csr.MIMPID: 0, csr.MHARTID: 0,
        }
        if number in simple:
            return simple[number]
        if number in (csr.MCYCLE, csr.CYCLE, csr.TIME):
            return self._cycles() & M
        if number in (csr.MCYCLEH, csr.CYCLEH, csr.TIMEH):
            return self._cycles() >> 32
        if number in (csr.MINSTRET, csr.INSTRET):
            return self._retired() & M
        if number in (csr.MINSTRETH, csr.INSTRETH):
            return self._retired() >> 32
        if number in csr.HPM_ZERO or number in csr.HPM_USER_ZERO:
            return 0
        raise _Trap(ILLEGAL_INSTRUCTION)

    def _csr_write(self, number: int, value: int) -> None:
        value &= M
        if number == csr.MSTATUS:
            self._mstatus = value & (csr.MSTATUS_MIE | csr.MSTATUS_MPIE)
        elif number == csr.MIE:
            self._mie = value & csr.MIE_WRITABLE
        elif number == csr.MTVEC:
            self._mtvec = value & ~3 & M  # direct mode only: MODE is read-only zero
        elif number == csr.MSCRATCH:
            self._mscratch = value
        elif number == csr.MEPC:
            self._mepc = value & ~3 & M  # IALIGN=32
        elif number == csr.MCAUSE:
            self._mcause = value
        elif number == csr.MTVAL:
            self._mtval = value
        elif number in (csr.MCYCLE, csr.MCYCLEH):
            self._cycle_adjust = self._counter_adjust(
                self._cycles(), number == csr.MCYCLEH, value, self._steps + 1)
        elif number in (csr.MINSTRET, csr.MINSTRETH):
            self._instret_adjust = self._counter_adjust(
                self._retired(), number == csr.MINSTRETH, value,
                self._steps + 1 - self._traps)
        elif number in (csr.MISA, csr.MIP, csr.MSTATUSH) or number in csr.HPM_ZERO:
            pass  # WARL fields with nothing writable
        else:
            raise _Trap(ILLEGAL_INSTRUCTION)

    @staticmethod
    def _counter_adjust(current: int, high: bool, value: int, count_after: int) -> int:
        """Offset that makes the counter read the written value from the next instruction on
        (the writing instruction's own increment is absorbed, as in Spike)."""
        high_half, low_half = current & ~M & 0xFFFF_FFFF_FFFF_FFFF, current & M
        wanted = (value << 32) | low_half if high else high_half | value
        return wanted - count_after



