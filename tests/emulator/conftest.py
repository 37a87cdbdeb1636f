"""The ``make_core`` fixture (layout in emulator_programs.py).

Programs run in two modes: interpreted only, and translated from the first execution, so every
directed test checks both the interpreter and the block translator.
"""

from __future__ import annotations

import pytest
from emulator_programs import BASE, HANDLER, SIZE, TOHOST, MakeCore

from bringup.emulator import Core, Memory, asm


@pytest.fixture(params=["interpreted", "translated"])
def make_core(request: pytest.FixtureRequest) -> MakeCore:
    def make(words: list[int], *, misaligned: str = "allow", trace=None,
             handler: list[int] | None = None) -> Core:
        core = Core(Memory([(BASE, SIZE)]), tohost=TOHOST, misaligned=misaligned, trace=trace)
        core.translate_after = 0 if request.param == "translated" else 10**9
        core.load(BASE, asm.program(words))
        if handler is not None:
            core.load(HANDLER, asm.program(handler))
        core.pc = BASE
        return core

    return make
