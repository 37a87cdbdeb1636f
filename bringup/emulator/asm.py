"""A tiny RV32IM + Zicsr + Zifencei encoder: one function per instruction, returning the word.

Registers are numbers 0..31. Immediates are checked against the field's range so that a test
or a vector generator cannot silently emit a different instruction than it meant::

    from bringup.emulator import asm
    image = asm.program([asm.addi(1, 0, 5), asm.sw(1, 0, 0x100), asm.ebreak()])
"""

from __future__ import annotations

import struct
from collections.abc import Iterable


class EncodingError(ValueError):
    """An operand does not fit the instruction's field."""


def _reg(value: int) -> int:
    if not 0 <= value < 32:
        raise EncodingError(f"register x{value} does not exist (use 0..31)")
    return value


def _signed(value: int, bits: int, what: str) -> int:
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if not low <= value <= high:
        raise EncodingError(f"{what} {value} is outside {low}..{high}")
    return value & ((1 << bits) - 1)


def _even(value: int, what: str) -> int:
    if value & 1:
        raise EncodingError(f"{what} {value} must be even")
    return value


# The encoders below test every field in one expression (the common, valid case) and only on
# failure call the checkers above, which say what is wrong: vector generation encodes tens of
# thousands of instructions per suite.
def _r(funct7: int, funct3: int, opcode: int, rd: int, rs1: int, rs2: int) -> int:
    if not (0 <= rd < 32 and 0 <= rs1 < 32 and 0 <= rs2 < 32):
        _reg(rd), _reg(rs1), _reg(rs2)
    return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode


def _i(funct3: int, opcode: int, rd: int, rs1: int, imm: int) -> int:
    if not (0 <= rd < 32 and 0 <= rs1 < 32 and -2048 <= imm <= 2047):
        _reg(rd), _reg(rs1), _signed(imm, 12, "immediate")
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode


def _s(funct3: int, rs2: int, rs1: int, imm: int) -> int:
    if not (0 <= rs2 < 32 and 0 <= rs1 < 32 and -2048 <= imm <= 2047):
        _reg(rs2), _reg(rs1), _signed(imm, 12, "offset")
    imm &= 0xFFF
    return ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) \
        | ((imm & 0x1F) << 7) | 0x23


def _b(funct3: int, rs1: int, rs2: int, offset: int) -> int:
    if not (0 <= rs1 < 32 and 0 <= rs2 < 32 and -4096 <= offset <= 4095 and not offset & 1):
        _reg(rs1), _reg(rs2), _signed(_even(offset, "branch offset"), 13, "branch offset")
    imm = offset & 0x1FFF
    return (((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3F) << 25) | (rs2 << 20) \
        | (rs1 << 15) | (funct3 << 12) | (((imm >> 1) & 0xF) << 8) \
        | (((imm >> 11) & 1) << 7) | 0x63


def _u(opcode: int, rd: int, imm20: int) -> int:
    if not 0 <= imm20 < (1 << 20):
        raise EncodingError(f"upper immediate {imm20:#x} is outside 0..0xfffff")
    if not 0 <= rd < 32:
        _reg(rd)
    return (imm20 << 12) | (rd << 7) | opcode


def _shift(funct7: int, funct3: int, rd: int, rs1: int, shamt: int) -> int:
    if not 0 <= shamt < 32:
        raise EncodingError(f"shift amount {shamt} is outside 0..31")
    return (funct7 << 25) | (shamt << 20) | (_reg(rs1) << 15) | (funct3 << 12) \
        | (_reg(rd) << 7) | 0x13


def _csr(funct3: int, rd: int, csr: int, source: int) -> int:
    if not 0 <= csr < 4096:
        raise EncodingError(f"CSR number {csr:#x} is outside 0..0xfff")
    return (csr << 20) | (_reg(source) << 15) | (funct3 << 12) | (_reg(rd) << 7) | 0x73


def lui(rd: int, imm20: int) -> int:
    return _u(0x37, rd, imm20)


def auipc(rd: int, imm20: int) -> int:
    return _u(0x17, rd, imm20)


def jal(rd: int, offset: int) -> int:
    imm = _signed(_even(offset, "jump offset"), 21, "jump offset")
    return (((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3FF) << 21) | (((imm >> 11) & 1) << 20) \
        | (((imm >> 12) & 0xFF) << 12) | (_reg(rd) << 7) | 0x6F


def jalr(rd: int, rs1: int, imm: int) -> int:
    return _i(0, 0x67, rd, rs1, imm)


def beq(rs1: int, rs2: int, offset: int) -> int:
    return _b(0, rs1, rs2, offset)


def bne(rs1: int, rs2: int, offset: int) -> int:
    return _b(1, rs1, rs2, offset)


def blt(rs1: int, rs2: int, offset: int) -> int:
    return _b(4, rs1, rs2, offset)


def bge(rs1: int, rs2: int, offset: int) -> int:
    return _b(5, rs1, rs2, offset)


def bltu(rs1: int, rs2: int, offset: int) -> int:
    return _b(6, rs1, rs2, offset)


def bgeu(rs1: int, rs2: int, offset: int) -> int:
    return _b(7, rs1, rs2, offset)


def lb(rd: int, rs1: int, imm: int) -> int:
    return _i(0, 0x03, rd, rs1, imm)


def lh(rd: int, rs1: int, imm: int) -> int:
    return _i(1, 0x03, rd, rs1, imm)


def lw(rd: int, rs1: int, imm: int) -> int:
    return _i(2, 0x03, rd, rs1, imm)


def lbu(rd: int, rs1: int, imm: int) -> int:
    return _i(4, 0x03, rd, rs1, imm)


def lhu(rd: int, rs1: int, imm: int) -> int:
    return _i(5, 0x03, rd, rs1, imm)


def sb(rs2: int, rs1: int, imm: int) -> int:
    return _s(0, rs2, rs1, imm)


def sh(rs2: int, rs1: int, imm: int) -> int:
    return _s(1, rs2, rs1, imm)


def sw(rs2: int, rs1: int, imm: int) -> int:
    return _s(2, rs2, rs1, imm)


def addi(rd: int, rs1: int, imm: int) -> int:
    return _i(0, 0x13, rd, rs1, imm)


def slti(rd: int, rs1: int, imm: int) -> int:
    return _i(2, 0x13, rd, rs1, imm)


def sltiu(rd: int, rs1: int, imm: int) -> int:
    return _i(3, 0x13, rd, rs1, imm)


def xori(rd: int, rs1: int, imm: int) -> int:
    return _i(4, 0x13, rd, rs1, imm)


def ori(rd: int, rs1: int, imm: int) -> int:
    return _i(6, 0x13, rd, rs1, imm)


def andi(rd: int, rs1: int, imm: int) -> int:
    return _i(7, 0x13, rd, rs1, imm)


def slli(rd: int, rs1: int, shamt: int) -> int:
    return _shift(0x00, 1, rd, rs1, shamt)


def srli(rd: int, rs1: int, shamt: int) -> int:
    return _shift(0x00, 5, rd, rs1, shamt)


def srai(rd: int, rs1: int, shamt: int) -> int:
    return _shift(0x20, 5, rd, rs1, shamt)


def add(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x00, 0, 0x33, rd, rs1, rs2)


def sub(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x20, 0, 0x33, rd, rs1, rs2)


def sll(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x00, 1, 0x33, rd, rs1, rs2)


def slt(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x00, 2, 0x33, rd, rs1, rs2)


def sltu(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x00, 3, 0x33, rd, rs1, rs2)


def xor(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x00, 4, 0x33, rd, rs1, rs2)


def srl(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x00, 5, 0x33, rd, rs1, rs2)


def sra(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x20, 5, 0x33, rd, rs1, rs2)


def or_(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x00, 6, 0x33, rd, rs1, rs2)


def and_(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x00, 7, 0x33, rd, rs1, rs2)


def mul(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x01, 0, 0x33, rd, rs1, rs2)


def mulh(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x01, 1, 0x33, rd, rs1, rs2)


def mulhsu(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x01, 2, 0x33, rd, rs1, rs2)


def mulhu(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x01, 3, 0x33, rd, rs1, rs2)


def div(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x01, 4, 0x33, rd, rs1, rs2)


def divu(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x01, 5, 0x33, rd, rs1, rs2)


def rem(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x01, 6, 0x33, rd, rs1, rs2)


def remu(rd: int, rs1: int, rs2: int) -> int:
    return _r(0x01, 7, 0x33, rd, rs1, rs2)


def fence(pred: int = 0xF, succ: int = 0xF) -> int:
    return (((pred & 0xF) << 4 | (succ & 0xF)) << 20) | 0x0F


def fence_i() -> int:
    return 0x0000_100F


def ecall() -> int:
    return 0x0000_0073


def ebreak() -> int:
    return 0x0010_0073


def mret() -> int:
    return 0x3020_0073


def wfi() -> int:
    return 0x1050_0073


def csrrw(rd: int, csr: int, rs1: int) -> int:
    return _csr(1, rd, csr, rs1)


def csrrs(rd: int, csr: int, rs1: int) -> int:
    return _csr(2, rd, csr, rs1)


def csrrc(rd: int, csr: int, rs1: int) -> int:
    return _csr(3, rd, csr, rs1)


def csrrwi(rd: int, csr: int, uimm: int) -> int:
    return _csr(5, rd, csr, uimm)


def csrrsi(rd: int, csr: int, uimm: int) -> int:
    return _csr(6, rd, csr, uimm)


def csrrci(rd: int, csr: int, uimm: int) -> int:
    return _csr(7, rd, csr, uimm)


def nop() -> int:
    return addi(0, 0, 0)


def li(rd: int, value: int) -> list[int]:
    """Load any 32-bit constant: ``lui`` + ``addi`` (two words, always, so sizes are static)."""
    value &= 0xFFFF_FFFF
    low = ((value & 0xFFF) ^ 0x800) - 0x800
    high = ((value - low) >> 12) & 0xFFFFF
    return [lui(rd, high), addi(rd, rd, low)]


def program(words: Iterable[int]) -> bytes:
    """Little-endian bytes of a sequence of instruction (or data) words."""
    values = [word & 0xFFFF_FFFF for word in words]
    return struct.pack(f"<{len(values)}I", *values)
