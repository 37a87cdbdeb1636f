"""Shared fixtures: a reference DUT on the emulator and a golden cache in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bringup.emulator import Core, Memory, RunResult
from bringup.vectors import RAM_BASE, RAM_SIZE, DirectoryCache

DIRECTED = Path(__file__).resolve().parents[2] / "runbooks" / "vectors"


class EmulatorDut:
    """A DUT on the reference core, with the Dut methods run_vectors needs.

    Stand-in for bringup/dut/reference.py, which should replace it once it exists. Its RAM
    persists across reset() like a chip's, so vectors cannot lean on a fresh zeroed memory.
    """

    def __init__(self) -> None:
        self.memory = Memory(regions=[(RAM_BASE, RAM_SIZE)])
        self.memory.write_bytes(RAM_BASE, bytes([0x5A]) * RAM_SIZE)
        self._tohost: int | None = None

    def reset(self) -> None:
        self._tohost = None

    def load(self, address: int, data: bytes) -> None:
        self.memory.write_bytes(address, data)

    def watch_tohost(self, address: int) -> None:
        self._tohost = address

    def run(self, entry: int, max_steps: int) -> RunResult:
        core = Core(self.memory, tohost=self._tohost)
        core.pc = entry
        return core.run(max_steps=max_steps)

    def read_memory(self, address: int, length: int) -> bytes:
        return self.memory.read_bytes(address, length)


class StuckBitDut(EmulatorDut):
    """A chip whose RAM reads `bit` as 1 inside [start, end): a stuck-at-1 bit line."""

    def __init__(self, bit: int, start: int, end: int) -> None:
        super().__init__()
        self.mask, self.start, self.end = 1 << bit, start, end

    def read_memory(self, address: int, length: int) -> bytes:
        data = bytearray(super().read_memory(address, length))
        for offset in range(0, length - 3, 4):
            if self.start <= address + offset < self.end:
                word = int.from_bytes(data[offset : offset + 4], "little") | self.mask
                data[offset : offset + 4] = word.to_bytes(4, "little")
        return bytes(data)


@pytest.fixture
def dut() -> EmulatorDut:
    return EmulatorDut()


@pytest.fixture
def stuck_bit_dut() -> type[StuckBitDut]:
    return StuckBitDut


@pytest.fixture
def directed_dir() -> Path:
    return DIRECTED


@pytest.fixture
def cache(tmp_path: Path) -> DirectoryCache:
    return DirectoryCache(tmp_path / "golden")
