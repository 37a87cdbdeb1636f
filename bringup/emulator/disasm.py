"""A small RV32IM disassembler for trace lines and error messages (ABI register names)."""

from __future__ import annotations

from bringup.emulator import csr
from bringup.emulator.isa import BRANCHES, CSR_OPS, LOADS, STORES, decode

ABI_NAMES = (
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6")


def disassemble(word: int, pc: int = 0) -> str:
    """``disassemble(0x00500093) == "addi ra, zero, 5"``; unknown words read ``.word 0x...``."""
    ins = decode(word & 0xFFFF_FFFF)
    if ins is None:
        return f".word {word & 0xFFFF_FFFF:#010x}"
    op, rd, rs1, rs2, imm = ins
    n = ABI_NAMES
    if op in ("lui", "auipc"):
        return f"{op} {n[rd]}, {imm >> 12:#x}"
    if op == "jal":
        return f"jal {n[rd]}, {(pc + imm) & 0xFFFF_FFFF:#x}"
    if op == "jalr":
        return f"jalr {n[rd]}, {imm}({n[rs1]})"
    if op in BRANCHES.values():
        return f"{op} {n[rs1]}, {n[rs2]}, {(pc + imm) & 0xFFFF_FFFF:#x}"
    if op in LOADS.values():
        return f"{op} {n[rd]}, {imm}({n[rs1]})"
    if op in STORES.values():
        return f"{op} {n[rs2]}, {imm}({n[rs1]})"
    if op in CSR_OPS.values():
        source = str(rs1) if op.endswith("i") else n[rs1]
        return f"{op} {n[rd]}, {csr.name_of(imm)}, {source}"
    if op in ("fence", "fence.i", "ecall", "ebreak", "mret", "wfi"):
        return op
    if op in ("slli", "srli", "srai") or op.endswith("i"):
        return f"{op} {n[rd]}, {n[rs1]}, {imm}"
    return f"{op} {n[rd]}, {n[rs1]}, {n[rs2]}"
