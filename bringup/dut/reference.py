"""ReferenceDut: the chip as the reference core would be — for dry runs and golden answers."""

from __future__ import annotations

import time

from bringup.dut.base import RunOutcome
from bringup.emulator import Core, Memory, StopReason

DEFAULT_RAM = ((0x8000_0000, 0x1_0000),)
_STATUS = {StopReason.HALTED: "exit", StopReason.BUDGET: "timeout"}
# The monitor's exit convention besides tohost (docs/monitor-protocol.md): ecall with a7 = 93.
ECALL_FROM_M, EXIT_SYSCALL, A0, A7 = 11, 93, 10, 17


class ReferenceDut:
    """A perfect chip: the pure-Python core with the simulated chip's memory map."""

    def __init__(self, *, name: str = "reference", regions: tuple[tuple[int, int], ...] = DEFAULT_RAM,
                 clock_mhz: float = 500.0, die_c: float = 25.0, fill: int = 0) -> None:
        self.name = name
        self._regions = list(regions)
        self._memory = Memory(regions=self._regions)
        for base, size in self._regions:
            self._memory.write_bytes(base, bytes([fill]) * size)
        self._default_mhz = clock_mhz
        self._mhz = clock_mhz
        self._die_c = die_c

    def wait_for_boot(self) -> None:
        """The reference core is always ready."""

    def reset(self) -> None:
        self._mhz = self._default_mhz

    def set_clock(self, mhz: float) -> float:
        self._mhz = float(mhz)
        return self._mhz

    def clock_mhz(self) -> float:
        return self._mhz

    def load(self, address: int, data: bytes) -> None:
        self._memory.write_bytes(address, data)

    def run(self, entry: int, max_steps: int, *, tohost: int | None = None) -> RunOutcome:
        core = Core(self._memory, tohost=tohost)
        core.pc = entry
        start = time.perf_counter()
        result = core.run(max_steps)
        seconds = time.perf_counter() - start
        if result.status in _STATUS:
            return RunOutcome(_STATUS[result.status], result.exit_code or 0, result.steps, seconds)
        cause = core.read_csr("mcause")
        if cause == ECALL_FROM_M and core.regs[A7] == EXIT_SYSCALL:
            return RunOutcome("exit", core.regs[A0], result.steps, seconds)
        return RunOutcome("trap", cause, result.steps, seconds)

    def read_memory(self, address: int, length: int) -> bytes:
        return self._memory.read_bytes(address, length)

    def die_temperature(self) -> float:
        return self._die_c
