"""RV32IM integer results, written from the ISA manual for the random generator's self-checks.

Deliberately independent of bringup.emulator: a generated program compares each result with the
value computed here, so the reference core and this table check each other on every golden run.
"""

from __future__ import annotations

from collections.abc import Callable

MASK = 0xFFFF_FFFF
INT_MIN = 0x8000_0000


def signed(value: int) -> int:
    value &= MASK
    return value - (1 << 32) if value & INT_MIN else value


def _div(a: int, b: int) -> int:
    if b == 0:
        return MASK
    if a == INT_MIN and b == MASK:
        return INT_MIN  # the one overflowing quotient: the ISA defines it as the dividend
    quotient = abs(signed(a)) // abs(signed(b))
    return quotient if (signed(a) < 0) == (signed(b) < 0) else -quotient


def _rem(a: int, b: int) -> int:
    if b == 0:
        return a
    if a == INT_MIN and b == MASK:
        return 0
    return signed(a) - signed(_div(a, b)) * signed(b)  # the remainder takes the dividend's sign


# Register-register operations on unsigned 32-bit operands; results are masked by `compute`.
REGISTER_OPS: dict[str, Callable[[int, int], int]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "sll": lambda a, b: a << (b & 31),
    "slt": lambda a, b: int(signed(a) < signed(b)),
    "sltu": lambda a, b: int(a < b),
    "xor": lambda a, b: a ^ b,
    "srl": lambda a, b: a >> (b & 31),
    "sra": lambda a, b: signed(a) >> (b & 31),
    "or": lambda a, b: a | b,
    "and": lambda a, b: a & b,
}
MULDIV_OPS: dict[str, Callable[[int, int], int]] = {
    "mul": lambda a, b: a * b,
    "mulh": lambda a, b: (signed(a) * signed(b)) >> 32,
    "mulhsu": lambda a, b: (signed(a) * b) >> 32,
    "mulhu": lambda a, b: (a * b) >> 32,
    "div": _div,
    "divu": lambda a, b: MASK if b == 0 else a // b,
    "rem": _rem,
    "remu": lambda a, b: a if b == 0 else a % b,
}
# Immediate forms compute like their register twins with the sign-extended immediate.
IMMEDIATE_OPS = {
    "addi": "add", "slti": "slt", "sltiu": "sltu", "xori": "xor", "ori": "or", "andi": "and",
    "slli": "sll", "srli": "srl", "srai": "sra",
}
BRANCH_OPS: dict[str, Callable[[int, int], bool]] = {
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
    "blt": lambda a, b: signed(a) < signed(b),
    "bge": lambda a, b: signed(a) >= signed(b),
    "bltu": lambda a, b: a < b,
    "bgeu": lambda a, b: a >= b,
}


def compute(op: str, a: int, b: int) -> int:
    """The 32-bit result of `op` (register, M-extension or immediate form) on a and b."""
    op = IMMEDIATE_OPS.get(op, op)
    table = REGISTER_OPS if op in REGISTER_OPS else MULDIV_OPS
    return table[op](a & MASK, b & MASK) & MASK


def load_value(data: bytes, offset: int, width: int, is_signed: bool) -> int:
    """What lb/lh/lw (`is_signed`) or lbu/lhu read at `offset` of little-endian `data`."""
    value = int.from_bytes(data[offset : offset + width], "little")
    if is_signed and value & (1 << (8 * width - 1)):
        value -= 1 << (8 * width)
    return value & MASK
