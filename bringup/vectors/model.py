"""The validation vector: a program image, where it goes, where its result lands, and a budget.

A vector is identified by its content hash, not by its name or the file it came from: two files
that load the same bytes at the same addresses with the same budget are the same vector and
share one golden signature.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from functools import cached_property

# The chip's RAM as the monitor firmware exposes it: every vector lives entirely inside it.
RAM_BASE = 0x8000_0000
RAM_SIZE = 0x1_0000
# The monitor's RUN takes the budget as a 32-bit count; it is also what a golden run may cost.
MAX_STEPS = 2**32 - 1
ADDRESS_LIMIT = 2**32  # RV32: every address is a 32-bit word

_HASH_DOMAIN = b"bringup.vector/1\n"


class VectorError(ValueError):
    """A vector that cannot run as described; the message names the vector and the fix."""


@dataclass(frozen=True)
class Vector:
    """One program image with its addresses and step budget (all addresses absolute)."""

    name: str
    image: bytes
    load_address: int
    entry: int
    signature_start: int
    signature_end: int
    tohost: int
    max_steps: int
    source: str = field(default="", compare=False)  # where it was read from, for messages

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:  # the first one is enough to act on; fixing it often fixes the rest
            raise VectorError(f"vector '{self.name}'{self._from()}: {problems[0]}")

    @classmethod
    def from_words(cls, name: str, words: list[int], load_address: int, **kwargs: int | str) -> Vector:
        """A vector whose image is 32-bit little-endian words."""
        image = b"".join((word & 0xFFFF_FFFF).to_bytes(4, "little") for word in words)
        return cls(name=name, image=image, load_address=load_address, **kwargs)  # type: ignore[arg-type]

    @property
    def end_address(self) -> int:
        """First address after the image."""
        return self.load_address + len(self.image)

    @property
    def signature_words(self) -> int:
        return (self.signature_end - self.signature_start) // 4

    @property
    def words(self) -> list[int]:
        """The image as 32-bit little-endian words (a partial last word is zero-padded)."""
        padded = self.image + bytes(-len(self.image) % 4)
        return [int.from_bytes(padded[i : i + 4], "little") for i in range(0, len(padded), 4)]

    @cached_property
    def content_hash(self) -> str:
        """sha256 over image, addresses and budget; the name and the source file do not count."""
        digest = hashlib.sha256(_HASH_DOMAIN)
        digest.update(struct.pack(
            "<6Q", self.load_address, self.entry, self.signature_start, self.signature_end,
            self.tohost, self.max_steps,
        ))
        digest.update(struct.pack("<Q", len(self.image)))
        digest.update(self.image)
        return digest.hexdigest()

    def initial_signature(self) -> bytes:
        """What the signature region holds before the program runs (it lies inside the image)."""
        offset = self.signature_start - self.load_address
        return self.image[offset : offset + self.signature_end - self.signature_start]

    def _from(self) -> str:
        return f" ({self.source})" if self.source else ""

    def _problems(self) -> list[str]:
        problems = []
        if not self.image:
            problems.append("the image is empty — give the program's words or segments")
        if not 0 < self.max_steps <= MAX_STEPS:
            problems.append(f"max_steps must be positive and at most {MAX_STEPS}, not {self.max_steps} — "
                            "give a step budget the chip's 32-bit counter can hold")
        addresses = (self.load_address, self.entry, self.signature_start, self.signature_end, self.tohost)
        if any(not 0 <= address < ADDRESS_LIMIT for address in addresses):
            problems.append("an address is outside the 32-bit address space — use addresses "
                            f"below {ADDRESS_LIMIT:#x}")
            return problems  # the checks below would only repeat it
        if self.load_address < RAM_BASE or self.end_address > RAM_BASE + RAM_SIZE:
            problems.append(
                f"the image {self.load_address:#x}..{self.end_address:#x} does not fit the "
                f"{RAM_SIZE // 1024} KiB RAM at {RAM_BASE:#x} — link it into that RAM"
            )
        if self.signature_start % 4 or self.signature_end % 4 or self.signature_end <= self.signature_start:
            problems.append(
                f"signature {self.signature_start:#x}..{self.signature_end:#x} must be a non-empty, "
                "word-aligned range — align begin_signature/end_signature to 4 bytes"
            )
        for what, start, end in (
            ("the signature", self.signature_start, self.signature_end),
            ("tohost", self.tohost, self.tohost + 4),
            ("the entry", self.entry, self.entry + 4),
        ):
            if not (self.load_address <= start and end <= self.end_address):
                problems.append(
                    f"{what} at {start:#x} lies outside the image {self.load_address:#x}.."
                    f"{self.end_address:#x} — a chip's RAM there is uninitialised; place it in a "
                    "loaded section"
                )
        if self.tohost % 4:
            problems.append(f"tohost {self.tohost:#x} must be word-aligned — align the .tohost section")
        return problems
