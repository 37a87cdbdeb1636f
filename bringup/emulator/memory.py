"""RAM regions of the emulated machine."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from itertools import pairwise

if sys.byteorder != "little":  # the word views below use host byte order
    raise ImportError("bringup.emulator needs a little-endian host (its RAM views are native)")


class MemoryAccessError(ValueError):
    """A host-side read or write touched an address outside every RAM region."""


class Region:
    """One RAM region with byte, halfword and word views of the same storage.

    ``code_words`` flags (one byte per word) the words that translated code or tohost live in,
    so that the translated fast path can send only those stores to the careful path.
    """

    def __init__(self, base: int, size: int) -> None:
        if base % 4 or size % 4 or size <= 0:
            raise ValueError(
                f"memory region ({base:#x}, {size:#x}): base and size must be positive "
                "multiples of 4")
        if base + size > 1 << 32:
            raise ValueError(f"memory region ({base:#x}, {size:#x}) runs past 0xffffffff")
        self.base = base
        self.size = size
        self.end = base + size
        self.data = bytearray(size)
        self.halves = memoryview(self.data).cast("H")
        self.words = memoryview(self.data).cast("I")
        self.code_words = bytearray(size // 4)

    def contains(self, address: int, length: int) -> bool:
        return self.base <= address and address + length <= self.end


class Memory:
    """The machine's RAM: ``Memory(regions=[(base, size), ...])``; everything else faults."""

    def __init__(self, regions: Sequence[tuple[int, int]]) -> None:
        if not regions:
            raise ValueError("Memory needs at least one (base, size) region")
        ordered = sorted((Region(base, size) for base, size in regions), key=lambda r: r.base)
        for before, after in pairwise(ordered):
            if after.base < before.end:
                raise ValueError(
                    f"memory regions at {before.base:#x} and {after.base:#x} overlap")
        self._regions = ordered

    @property
    def regions(self) -> list[tuple[int, int]]:
        return [(region.base, region.size) for region in self._regions]

    def region_list(self) -> list[Region]:
        return list(self._regions)

    def find(self, address: int, length: int = 1) -> Region | None:
        """The region holding all of ``[address, address + length)``, or ``None``."""
        for region in self._regions:
            if region.contains(address, length):
                return region
        return None

    def _region_for(self, address: int, length: int) -> Region:
        region = self.find(address, length)
        if region is None:
            raise MemoryAccessError(
                f"{length} byte(s) at {address:#010x} are not inside one memory region "
                f"(regions: {', '.join(f'{b:#x}+{s:#x}' for b, s in self.regions)})")
        return region

    def read_bytes(self, address: int, length: int) -> bytes:
        region = self._region_for(address, length)
        offset = address - region.base
        return bytes(region.data[offset:offset + length])

    def write_bytes(self, address: int, data: bytes) -> None:
        region = self._region_for(address, len(data))
        offset = address - region.base
        region.data[offset:offset + len(data)] = data

    def read_words(self, address: int, count: int) -> list[int]:
        raw = self.read_bytes(address, 4 * count)
        return [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]

    def write_words(self, address: int, words: Iterable[int]) -> None:
        self.write_bytes(address, b"".join((w & 0xFFFF_FFFF).to_bytes(4, "little")
                                           for w in words))
