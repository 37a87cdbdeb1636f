"""Memory layout and program snippets shared by the emulator tests.

A 64 KiB RAM at 0x8000_0000: code at the base, a trap handler at +0x4000, data at +0x8000,
tohost at +0xF000.
"""

from __future__ import annotations

from collections.abc import Callable

from bringup.emulator import Core, asm

BASE = 0x8000_0000
SIZE = 0x1_0000
DATA = BASE + 0x8000
TOHOST = BASE + 0xF000
HANDLER = BASE + 0x4000

#: The ``make_core`` fixture: ``make_core(words, *, misaligned=..., trace=..., handler=...)``.
MakeCore = Callable[..., Core]


def halt(code: int = 0) -> list[int]:
    """Instructions that end the run with ``exit_code == code`` (they use x30 and x31)."""
    return [*asm.li(31, TOHOST), *asm.li(30, (code << 1) | 1), asm.sw(30, 31, 0)]
