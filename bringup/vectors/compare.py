"""Signature comparison: which words differ, where the first one is, and which bits flipped.

The OR of every mismatching word's XOR makes faults read as patterns: one bit set in every
failing word is a stuck-at or weak bit line; scattered bits near Vmin are marginal timing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WordMismatch:
    address: int
    expected: int
    actual: int

    @property
    def flipped_bits(self) -> int:
        return self.expected ^ self.actual

    def __str__(self) -> str:
        return (f"{self.address:#010x}: expected {self.expected:08x} got {self.actual:08x} "
                f"(flipped {self.flipped_bits:08x})")


@dataclass(frozen=True)
class Comparison:
    """Expected against actual signature words from `start`."""

    start: int
    expected: tuple[int, ...]
    actual: tuple[int, ...]
    mismatches: tuple[WordMismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches

    @property
    def first_mismatch_address(self) -> int | None:
        return self.mismatches[0].address if self.mismatches else None

    @property
    def flipped_bits(self) -> int:
        """OR of the per-word XORs: every bit position that was wrong in any word."""
        mask = 0
        for mismatch in self.mismatches:
            mask |= mismatch.flipped_bits
        return mask

    def summary(self) -> str:
        if self.passed:
            return f"{len(self.expected)} words match"
        return (f"{len(self.mismatches)} of {len(self.expected)} words differ, first at "
                f"{self.first_mismatch_address:#010x}, flipped bits {self.flipped_bits:08x}")


def to_words(data: bytes) -> tuple[int, ...]:
    if len(data) % 4:
        raise ValueError(f"a signature is whole 32-bit words; got {len(data)} bytes")
    return tuple(int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4))


def compare_signatures(start: int, expected: bytes, actual: bytes) -> Comparison:
    """Compare word by word; a truncated `actual` raises ValueError (a dump error, not a result)."""
    want, got = to_words(expected), to_words(actual[: len(expected)])
    if len(got) < len(want):
        raise ValueError(
            f"the signature read back is {len(actual)} bytes but {len(expected)} were expected — "
            "the DUT returned a truncated memory dump"
        )
    mismatches = tuple(
        WordMismatch(start + 4 * index, w, g)
        for index, (w, g) in enumerate(zip(want, got, strict=True))
        if w != g
    )
    return Comparison(start=start, expected=want, actual=got, mismatches=mismatches)
