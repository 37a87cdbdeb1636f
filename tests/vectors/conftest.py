"""Shared fixtures: a reference DUT on the emulator and a golden cache in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bringup.dut.reference import ReferenceDut
from bringup.vectors import DirectoryCache

RAM_FILL = 0x5A
DIRECTED = Path(__file__).resolve().parents[2] / "runbooks" / "vectors"


class StuckBitDut(ReferenceDut):
    """A chip whose RAM reads `bit` as 1 inside [start, end): a stuck-at-1 bit line."""

    def __init__(self, bit: int, start: int, end: int) -> None:
        super().__init__(fill=RAM_FILL)
        self.mask, self.start, self.end = 1 << bit, start, end

    def read_memory(self, address: int, length: int) -> bytes:
        data = bytearray(super().read_memory(address, length))
        for offset in range(0, length - 3, 4):
            if self.start <= address + offset < self.end:
                word = int.from_bytes(data[offset : offset + 4], "little") | self.mask
                data[offset : offset + 4] = word.to_bytes(4, "little")
        return bytes(data)


@pytest.fixture
def dut() -> ReferenceDut:
    # RAM that is not zero, like a chip's after reset: vectors must not lean on zeroed memory.
    return ReferenceDut(fill=RAM_FILL)


@pytest.fixture
def stuck_bit_dut() -> type[StuckBitDut]:
    return StuckBitDut


@pytest.fixture
def directed_dir() -> Path:
    return DIRECTED


@pytest.fixture
def cache(tmp_path: Path) -> DirectoryCache:
    return DirectoryCache(tmp_path / "golden")
