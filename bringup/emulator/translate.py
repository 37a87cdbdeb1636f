"""Basic-block translation: RISC-V straight-line code compiled into Python functions.

A block is a run of instructions from one pc up to and including the first jump or branch back
to that pc (at most ``MAX_BLOCK`` instructions, stopping before any CSR/system instruction).
Other conditional branches inside it are side exits: taken, they leave the block; not taken,
the block goes on (a superblock), so branchy code changes blocks, and pays the dispatcher, less
often. A block becomes one Python function that keeps the registers it touches in locals::

    def block(r, n, ...):          # r: the register list, n: loop iterations the budget allows
        ...
        return (next_pc, steps)    # next_pc + BAIL: "interpret the instruction at next_pc"

A block whose last instruction branches back to its own start loops inside the function, so a
hot loop costs one call for up to ``n`` iterations (a side exit mid-way leaves with the steps
done so far: ``j * length + index + 1``). Everything uncommon bails out to the
interpreter *before* the instruction has any effect: a memory access outside the block's own
region or out of range (IndexError), a misaligned access, a store into a word flagged in
``Region.code_words`` (translated code, or tohost), a jump to a misaligned target. So the
translated code only has to be right for the common case, and the interpreter defines the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from bringup.emulator.isa import BRANCHES, CONTROL_OPS, MASK32, SYSTEM_OPS, Instruction, decode
from bringup.emulator.memory import Memory, Region
from bringup.emulator.semantics import div, rem

M = MASK32
BAIL = 1 << 32
MAX_BLOCK = 64
PAGE_SHIFT = 8
CODE = 1  # Region.code_words flag bits
WATCHED = 2

Block = tuple[Callable[[list[int], int], tuple[int, int]] | None, int]

_S = "2147483648"
_REG_EXPR = {
    "add": "({a} + {b}) & 4294967295",
    "sub": "({a} - {b}) & 4294967295",
    "sll": "({a} << ({b} & 31)) & 4294967295",
    "slt": f"1 if ({{a}} ^ {_S}) < ({{b}} ^ {_S}) else 0",
    "sltu": "1 if {a} < {b} else 0",
    "xor": "{a} ^ {b}",
    "srl": "{a} >> ({b} & 31)",
    "sra": f"(({{a}} ^ {_S}) - {_S} >> ({{b}} & 31)) & 4294967295",
    "or": "{a} | {b}",
    "and": "{a} & {b}",
    "mul": "({a} * {b}) & 4294967295",
    "mulh": f"((({{a}} ^ {_S}) - {_S}) * (({{b}} ^ {_S}) - {_S}) >> 32) & 4294967295",
    "mulhsu": f"((({{a}} ^ {_S}) - {_S}) * {{b}} >> 32) & 4294967295",
    "mulhu": "({a} * {b}) >> 32",
    "div": "_div({a}, {b})",
    "divu": "{a} // {b} if {b} else 4294967295",
    "rem": "_rem({a}, {b})",
    "remu": "{a} % {b} if {b} else {a}",
}
# Immediate form -> (register form, pass the immediate unsigned?)
_IMM_FORM = {"addi": ("add", False), "slti": ("slt", True), "sltiu": ("sltu", True),
             "xori": ("xor", True), "ori": ("or", True), "andi": ("and", True),
             "slli": ("sll", False), "srli": ("srl", False), "srai": ("sra", False)}
_BRANCH_EXPR = {
    "beq": "{a} == {b}", "bne": "{a} != {b}", "bltu": "{a} < {b}", "bgeu": "{a} >= {b}",
    "blt": f"({{a}} ^ {_S}) < ({{b}} ^ {_S})", "bge": f"({{a}} ^ {_S}) >= ({{b}} ^ {_S})",
}
# Load op -> (alignment mask, value expression of offset o)
_LOAD_EXPR = {
    "lw": (3, "mw[o >> 2]"),
    "lh": (1, "((mh[o >> 1] ^ 32768) - 32768) & 4294967295"),
    "lhu": (1, "mh[o >> 1]"),
    "lb": (0, "((m[o] ^ 128) - 128) & 4294967295"),
    "lbu": (0, "m[o]"),
}
_STORE_STMT = {"sw": (3, "mw[o >> 2] = {v}"), "sh": (1, "mh[o >> 1] = {v} & 65535"),
               "sb": (0, "m[o] = {v} & 255")}


_JUMPS = CONTROL_OPS - set(BRANCHES.values())  # end a block; conditional branches do not


def _reg(number: int) -> str:
    return f"x{number}" if number else "0"


class _BlockWriter:
    """Generates the Python source of one block."""

    def __init__(self, start: int, instrs: list[tuple[int, Instruction]], region: Region) -> None:
        self.start = start
        self.instrs = instrs
        self.region = region
        self.length = len(instrs)
        last_pc, last = instrs[-1]
        self.loop = last.op in ("jal", *BRANCHES.values()) and (last_pc + last.imm) & M == start
        self.written = sorted({ins.rd for _, ins in instrs if ins.rd})
        read = {n for _, ins in instrs for n in (ins.rs1, ins.rs2) if n}
        self.touched = sorted(read | set(self.written))
        self.lines: list[str] = []
        self.indent = "    "

    def emit(self, line: str) -> None:
        self.lines.append(self.indent + line)

    def steps(self, done: int) -> str:
        return f"j * {self.length} + {done}" if self.loop else str(done)

    def leave(self, pc_expr: str, steps_expr: str) -> None:
        for n in self.written:
            self.emit(f"r[{n}] = x{n}")
        self.emit(f"return ({pc_expr}, {steps_expr})")

    def bail(self, index: int, pc: int) -> None:
        self.leave(str(pc + BAIL), self.steps(index))

    def nested(self, body: Callable[[], None]) -> None:
        self.indent += "    "
        body()
        self.indent = self.indent[:-4]

    def source(self) -> str:
        self.lines = ["def block(r, n, m=m, mh=mh, mw=mw, cw=cw, _div=_div, _rem=_rem):"]
        for n in self.touched:
            self.emit(f"x{n} = r[{n}]")
        if self.loop:
            self.emit("j = 0")
            self.emit("while True:")
            self.indent += "    "
        for index, (pc, ins) in enumerate(self.instrs):
            self.instruction(index, pc, ins)
        last_pc, last = self.instrs[-1]
        if last.op not in CONTROL_OPS:
            self.leave(str((last_pc + 4) & M), self.steps(self.length))
        return "\n".join(self.lines) + "\n"

    def instruction(self, index: int, pc: int, ins: Instruction) -> None:
        op = ins.op
        if op in _LOAD_EXPR:
            self.load(index, pc, ins)
        elif op in _STORE_STMT:
            self.store(index, pc, ins)
        elif op in _BRANCH_EXPR:
            self.branch(index, pc, ins)
        elif op == "jal":
            self.jal(index, pc, ins)
        elif op == "jalr":
            self.jalr(index, pc, ins)
        elif not ins.rd or op == "fence":
            pass  # writes only x0: no effect
        elif op == "lui":
            self.emit(f"x{ins.rd} = {ins.imm}")
        elif op == "auipc":
            self.emit(f"x{ins.rd} = {(pc + ins.imm) & M}")
        elif op == "addi" and ins.imm == 0:
            self.emit(f"x{ins.rd} = {_reg(ins.rs1)}")
        elif op in _IMM_FORM:
            form, unsigned = _IMM_FORM[op]
            imm = ins.imm & M if unsigned else ins.imm
            self.emit(f"x{ins.rd} = " + _REG_EXPR[form].format(a=_reg(ins.rs1), b=imm))
        else:
            expr = _REG_EXPR[op].format(a=_reg(ins.rs1), b=_reg(ins.rs2))
            self.emit(f"x{ins.rd} = {expr}")

    def offset(self, ins: Instruction) -> None:
        # Offset into this block's region, made unsigned so that an address below the region
        # becomes huge and fails the index like one above it.
        self.emit(f"o = ({_reg(ins.rs1)} + {ins.imm - self.region.base}) & 4294967295")

    def load(self, index: int, pc: int, ins: Instruction) -> None:
        align, expr = _LOAD_EXPR[ins.op]
        self.offset(ins)
        if align:
            self.emit(f"if o & {align}:")
            self.nested(lambda: self.bail(index, pc))
        self.emit("try:")
        target = f"x{ins.rd}" if ins.rd else "_"
        self.nested(lambda: self.emit(f"{target} = {expr}"))
        self.emit("except IndexError:")
        self.nested(lambda: self.bail(index, pc))

    def store(self, index: int, pc: int, ins: Instruction) -> None:
        align, statement = _STORE_STMT[ins.op]
        self.offset(ins)
        self.emit("try:")
        check = f"o & {align} or cw[o >> 2]" if align else "cw[o >> 2]"

        def body() -> None:
            self.emit(f"if {check}:")
            self.nested(lambda: self.bail(index, pc))
            self.emit(statement.format(v=_reg(ins.rs2)))

        self.nested(body)
        self.emit("except IndexError:")
        self.nested(lambda: self.bail(index, pc))

    def goto(self, index: int, pc: int, target: int) -> None:
        """Leave for a static target (or loop back to the start)."""
        if target & 3:
            self.bail(index, pc)  # the interpreter raises the misaligned-fetch trap
        elif self.loop and target == self.start:
            self.emit("j += 1")
            self.emit("if j < n:")
            self.nested(lambda: self.emit("continue"))
            self.leave(str(self.start), f"j * {self.length}")
        else:
            self.leave(str(target), self.steps(self.length))

    def branch(self, index: int, pc: int, ins: Instruction) -> None:
        condition = _BRANCH_EXPR[ins.op].format(a=_reg(ins.rs1), b=_reg(ins.rs2))
        target = (pc + ins.imm) & M
        self.emit(f"if {condition}:")
        if index < self.length - 1:  # a side exit; not taken, the block goes on
            if target & 3:
                self.nested(lambda: self.bail(index, pc))  # the interpreter raises the trap
            else:
                self.nested(lambda: self.leave(str(target), self.steps(index + 1)))
            return
        self.nested(lambda: self.goto(index, pc, target))
        self.leave(str((pc + 4) & M), self.steps(self.length))

    def jal(self, index: int, pc: int, ins: Instruction) -> None:
        target = (pc + ins.imm) & M
        if ins.rd and not target & 3:
            self.emit(f"x{ins.rd} = {(pc + 4) & M}")
        self.goto(index, pc, target)

    def jalr(self, index: int, pc: int, ins: Instruction) -> None:
        self.emit(f"t = ({_reg(ins.rs1)} + {ins.imm}) & 4294967294")
        self.emit("if t & 2:")
        self.nested(lambda: self.bail(index, pc))
        if ins.rd:
            self.emit(f"x{ins.rd} = {(pc + 4) & M}")
        self.leave("t", self.steps(self.length))


class CodeCache:
    """Translated blocks by start pc, with the bookkeeping that keeps them coherent with RAM."""

    INTERPRET: Block = (None, 0)

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.blocks: dict[int, Block] = {}
        self.heat: dict[int, int] = {}
        self._spans: dict[int, tuple[Region, int, int]] = {}
        self._pages: defaultdict[int, set[int]] = defaultdict(set)
        self._watched: list[int] = []

    def watch_word(self, address: int) -> None:
        """Send every store to this word through the interpreter (used for tohost)."""
        self._watched.append(address)
        self._flag_watched(address)

    def _flag_watched(self, address: int) -> None:
        region = self.memory.find(address, 4)
        if region is not None:
            region.code_words[(address - region.base) >> 2] |= WATCHED

    def flush(self) -> None:
        self.blocks.clear()
        self.heat.clear()
        self._spans.clear()
        self._pages.clear()
        for region in self.memory.region_list():
            region.code_words[:] = bytes(len(region.code_words))
        for address in self._watched:
            self._flag_watched(address)

    def translate(self, pc: int) -> Block:
        region = self.memory.find(pc, 4)
        instrs = self._collect(region, pc) if region is not None and not pc & 3 else []
        if not instrs:
            self.blocks[pc] = self.INTERPRET
            return self.INTERPRET
        assert region is not None
        source = _BlockWriter(pc, instrs, region).source()
        namespace = {"m": region.data, "mh": region.halves, "mw": region.words,
                     "cw": region.code_words, "_div": div, "_rem": rem}
        exec(compile(source, f"<block {pc:#010x}>", "exec"), namespace)
        block: Block = (namespace["block"], len(instrs))
        self.blocks[pc] = block
        end = pc + 4 * len(instrs)
        self._spans[pc] = (region, pc, end)
        for page in range(pc >> PAGE_SHIFT, ((end - 1) >> PAGE_SHIFT) + 1):
            self._pages[page].add(pc)
        self._mark(region, pc, end)
        return block

    @staticmethod
    def _collect(region: Region, pc: int) -> list[tuple[int, Instruction]]:
        start = pc
        instrs: list[tuple[int, Instruction]] = []
        while len(instrs) < MAX_BLOCK and pc + 4 <= region.end:
            ins = decode(region.words[(pc - region.base) >> 2])
            if ins is None or ins.op in SYSTEM_OPS:
                break
            instrs.append((pc, ins))
            if ins.op in _JUMPS or (ins.op in _BRANCH_EXPR and (pc + ins.imm) & M == start):
                break  # a jump, or a loop's back edge (the block then loops inside its function)
            pc += 4
        return instrs

    @staticmethod
    def _mark(region: Region, start: int, end: int) -> None:
        flags = region.code_words
        for index in range((start - region.base) >> 2, (end - region.base) >> 2):
            flags[index] |= CODE

    def invalidate(self, address: int, size: int) -> None:
        """Drop every block that covers a byte of ``[address, address + size)``."""
        pages = range(address >> PAGE_SHIFT, ((address + size - 1) >> PAGE_SHIFT) + 1)
        victims = {start for page in pages for start in self._pages.get(page, ())
                   if self._spans[start][1] < address + size and address < self._spans[start][2]}
        touched_pages: set[int] = set()
        for start in victims:
            region, first, end = self._spans.pop(start)
            del self.blocks[start]
            flags = region.code_words
            for index in range((first - region.base) >> 2, (end - region.base) >> 2):
                flags[index] &= ~CODE
            for page in range(first >> PAGE_SHIFT, ((end - 1) >> PAGE_SHIFT) + 1):
                self._pages[page].discard(start)
                touched_pages.add(page)
        for page in touched_pages:  # blocks that overlap the victims keep their flags
            for start in self._pages.get(page, ()):
                self._mark(*self._spans[start])
        for pc in range(address & ~3, address + size):
            self.blocks.pop(pc, None)  # "interpret here" markers for the rewritten words
