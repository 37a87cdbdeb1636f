"""RV32IM + Zicsr + Zifencei instruction decoding, shared by the core, translator and disassembler."""

from __future__ import annotations

from typing import NamedTuple

MASK32 = 0xFFFF_FFFF
SIGN32 = 0x8000_0000


class Instruction(NamedTuple):
    """One decoded instruction. For CSR instructions ``imm`` is the CSR number and ``rs1`` is
    the source register (or the 5-bit immediate for the ``*i`` forms)."""

    op: str
    rd: int
    rs1: int
    rs2: int
    imm: int


LOADS = {0: "lb", 1: "lh", 2: "lw", 4: "lbu", 5: "lhu"}
STORES = {0: "sb", 1: "sh", 2: "sw"}
BRANCHES = {0: "beq", 1: "bne", 4: "blt", 5: "bge", 6: "bltu", 7: "bgeu"}
ALU_IMM = {0: "addi", 2: "slti", 3: "sltiu", 4: "xori", 6: "ori", 7: "andi"}
ALU_REG = {
    (0x00, 0): "add", (0x20, 0): "sub", (0x00, 1): "sll", (0x00, 2): "slt", (0x00, 3): "sltu",
    (0x00, 4): "xor", (0x00, 5): "srl", (0x20, 5): "sra", (0x00, 6): "or", (0x00, 7): "and",
    (0x01, 0): "mul", (0x01, 1): "mulh", (0x01, 2): "mulhsu", (0x01, 3): "mulhu",
    (0x01, 4): "div", (0x01, 5): "divu", (0x01, 6): "rem", (0x01, 7): "remu",
}
CSR_OPS = {1: "csrrw", 2: "csrrs", 3: "csrrc", 5: "csrrwi", 6: "csrrsi", 7: "csrrci"}
SYSTEM_WORDS = {0x0000_0073: "ecall", 0x0010_0073: "ebreak", 0x3020_0073: "mret",
                0x1050_0073: "wfi"}

#: Instructions that end a translated block because they transfer control.
CONTROL_OPS = frozenset({"jal", "jalr", *BRANCHES.values()})
#: Instructions the translator never compiles: they touch CSRs, trap or flush translations.
SYSTEM_OPS = frozenset({"ecall", "ebreak", "mret", "wfi", "fence.i", *CSR_OPS.values()})


def sign_extend(value: int, bits: int) -> int:
    """Interpret the low ``bits`` of ``value`` as two's complement."""
    sign = 1 << (bits - 1)
    return (value & ((1 << bits) - 1) ^ sign) - sign


def to_signed(value: int) -> int:
    return (value ^ SIGN32) - SIGN32


def _imm_i(word: int) -> int:
    return sign_extend(word >> 20, 12)


def _imm_s(word: int) -> int:
    return sign_extend(((word >> 25) << 5) | ((word >> 7) & 0x1F), 12)


def _imm_b(word: int) -> int:
    value = (((word >> 31) & 1) << 12) | (((word >> 7) & 1) << 11) \
        | (((word >> 25) & 0x3F) << 5) | (((word >> 8) & 0xF) << 1)
    return sign_extend(value, 13)


def _imm_j(word: int) -> int:
    value = (((word >> 31) & 1) << 20) | (((word >> 12) & 0xFF) << 12) \
        | (((word >> 20) & 1) << 11) | (((word >> 21) & 0x3FF) << 1)
    return sign_extend(value, 21)


def decode(word: int) -> Instruction | None:
    """Decode a 32-bit instruction word; ``None`` for anything RV32IM/Zicsr/Zifencei lacks."""
    opcode = word & 0x7F
    rd = (word >> 7) & 0x1F
    funct3 = (word >> 12) & 7
    rs1 = (word >> 15) & 0x1F
    rs2 = (word >> 20) & 0x1F
    funct7 = word >> 25
    if opcode == 0x37:
        return Instruction("lui", rd, 0, 0, word & 0xFFFF_F000)
    if opcode == 0x17:
        return Instruction("auipc", rd, 0, 0, word & 0xFFFF_F000)
    if opcode == 0x6F:
        return Instruction("jal", rd, 0, 0, _imm_j(word))
    if opcode == 0x67 and funct3 == 0:
        return Instruction("jalr", rd, rs1, 0, _imm_i(word))
    if opcode == 0x63 and funct3 in BRANCHES:
        return Instruction(BRANCHES[funct3], 0, rs1, rs2, _imm_b(word))
    if opcode == 0x03 and funct3 in LOADS:
        return Instruction(LOADS[funct3], rd, rs1, 0, _imm_i(word))
    if opcode == 0x23 and funct3 in STORES:
        return Instruction(STORES[funct3], 0, rs1, rs2, _imm_s(word))
    if opcode == 0x13:
        if funct3 in ALU_IMM:
            return Instruction(ALU_IMM[funct3], rd, rs1, 0, _imm_i(word))
        if funct3 == 1 and funct7 == 0:
            return Instruction("slli", rd, rs1, 0, rs2)
        if funct3 == 5 and funct7 in (0, 0x20):
            return Instruction("srli" if funct7 == 0 else "srai", rd, rs1, 0, rs2)
        return None
    if opcode == 0x33:
        op = ALU_REG.get((funct7, funct3))
        return Instruction(op, rd, rs1, rs2, 0) if op else None
    if opcode == 0x0F:
        if funct3 == 0:
            return Instruction("fence", 0, 0, 0, (word >> 20) & 0xFF)
        if funct3 == 1:
            return Instruction("fence.i", 0, 0, 0, 0)
        return None
    if opcode == 0x73:
        if funct3 == 0:
            op = SYSTEM_WORDS.get(word)
            return Instruction(op, 0, 0, 0, 0) if op else None
        if funct3 in CSR_OPS:
            return Instruction(CSR_OPS[funct3], rd, rs1, 0, word >> 20)
    return None
