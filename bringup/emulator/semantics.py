"""Register-to-register results of RV32IM, on unsigned 32-bit values (the interpreter's ALU)."""

from __future__ import annotations

from collections.abc import Callable

from bringup.emulator.isa import MASK32, to_signed

M = MASK32


def div(a: int, b: int) -> int:
    """DIV: quotient rounded toward zero; /0 gives all ones; -2**31 / -1 gives -2**31."""
    if b == 0:
        return M
    sa, sb = to_signed(a), to_signed(b)
    quotient = abs(sa) // abs(sb)
    return (-quotient if (sa < 0) != (sb < 0) else quotient) & M


def rem(a: int, b: int) -> int:
    """REM: sign follows the dividend; %0 gives the dividend; -2**31 % -1 gives 0."""
    if b == 0:
        return a
    sa, sb = to_signed(a), to_signed(b)
    remainder = abs(sa) % abs(sb)
    return (-remainder if sa < 0 else remainder) & M


ALU: dict[str, Callable[[int, int], int]] = {
    "add": lambda a, b: (a + b) & M,
    "sub": lambda a, b: (a - b) & M,
    "sll": lambda a, b: (a << (b & 31)) & M,
    "slt": lambda a, b: int(to_signed(a) < to_signed(b)),
    "sltu": lambda a, b: int(a < b),
    "xor": lambda a, b: a ^ b,
    "srl": lambda a, b: a >> (b & 31),
    "sra": lambda a, b: (to_signed(a) >> (b & 31)) & M,
    "or": lambda a, b: a | b,
    "and": lambda a, b: a & b,
    "mul": lambda a, b: (a * b) & M,
    "mulh": lambda a, b: (to_signed(a) * to_signed(b) >> 32) & M,
    "mulhsu": lambda a, b: (to_signed(a) * b >> 32) & M,
    "mulhu": lambda a, b: (a * b) >> 32,
    "div": div,
    "divu": lambda a, b: a // b if b else M,
    "rem": rem,
    "remu": lambda a, b: a % b if b else a,
}

#: Immediate forms and the register operation they share (the immediate is passed unsigned).
IMMEDIATE_FORMS = {"addi": "add", "slti": "slt", "sltiu": "sltu", "xori": "xor", "ori": "or",
                   "andi": "and", "slli": "sll", "srli": "srl", "srai": "sra"}
