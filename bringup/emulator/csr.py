"""CSR numbers and names of the machine-mode core."""

from __future__ import annotations

MSTATUS = 0x300
MISA = 0x301
MIE = 0x304
MTVEC = 0x305
MSTATUSH = 0x310
MSCRATCH = 0x340
MEPC = 0x341
MCAUSE = 0x342
MTVAL = 0x343
MIP = 0x344
MCYCLE = 0xB00
MINSTRET = 0xB02
MCYCLEH = 0xB80
MINSTRETH = 0xB82
CYCLE = 0xC00
TIME = 0xC01
INSTRET = 0xC02
CYCLEH = 0xC80
TIMEH = 0xC81
INSTRETH = 0xC82
MVENDORID = 0xF11
MARCHID = 0xF12
MIMPID = 0xF13
MHARTID = 0xF14

#: RV32 (MXL=1) with the I and M extensions.
MISA_VALUE = (1 << 30) | (1 << 8) | (1 << 12)
MSTATUS_MIE = 1 << 3
MSTATUS_MPIE = 1 << 7
MSTATUS_MPP_MACHINE = 3 << 11
MIE_WRITABLE = (1 << 3) | (1 << 7) | (1 << 11)  # MSIE, MTIE, MEIE

#: Performance-monitoring CSRs that exist but always read 0 (no events are implemented).
HPM_ZERO = frozenset(
    [*range(0xB03, 0xB20), *range(0xB83, 0xBA0), *range(0x323, 0x340)])
HPM_USER_ZERO = frozenset([*range(0xC03, 0xC20), *range(0xC83, 0xCA0)])

NAMES = {
    "mstatus": MSTATUS, "misa": MISA, "mie": MIE, "mtvec": MTVEC, "mstatush": MSTATUSH,
    "mscratch": MSCRATCH, "mepc": MEPC, "mcause": MCAUSE, "mtval": MTVAL, "mip": MIP,
    "mcycle": MCYCLE, "minstret": MINSTRET, "mcycleh": MCYCLEH, "minstreth": MINSTRETH,
    "cycle": CYCLE, "time": TIME, "instret": INSTRET, "cycleh": CYCLEH, "timeh": TIMEH,
    "instreth": INSTRETH, "mvendorid": MVENDORID, "marchid": MARCHID, "mimpid": MIMPID,
    "mhartid": MHARTID,
}
NUMBERS = {number: name for name, number in NAMES.items()}


def is_read_only(number: int) -> bool:
    """CSR addresses with bits 11:10 == 0b11 are read-only by the privileged specification."""
    return (number >> 10) == 0b11


def name_of(number: int) -> str:
    return NUMBERS.get(number, f"{number:#x}")


def number_of(name_or_number: int | str) -> int:
    if isinstance(name_or_number, int):
        return name_or_number
    try:
        return NAMES[name_or_number.lower()]
    except KeyError:
        raise ValueError(
            f"unknown CSR name {name_or_number!r}; known: {', '.join(sorted(NAMES))}") from None
