"""What a die does below its Vmin: reproducible bit errors in what a run wrote; far below, a hang.

The model, for the `disturbance` hook of the simulated chip (monitor_firmware.RunDisturbance):

- At or above Vmin nothing changes.
- Below it, the write-back path into SRAM misses its timing: bits flip in the words the run
  wrote (its results, never the program image it did not touch). The expected number of
  flipped bits per written word is `RATE_AT_VMIN` just under Vmin and grows e-fold every
  `RATE_E_FOLD_V` (0.03 at 10 mV under, 0.7 at 30 mV, 4 at 40 mV; capped at `MAX_RATE`).
- Each die has a few weak bit lines (`WEAK_BITS` positions, chosen by its serial) that take
  most of the errors, so the OR of the flipped-bit masks shows the same columns run after run.
- Errors are a pure function of (chip serial, program loaded, operating point in whole mV and
  MHz): the same chip at the same point flips the same bits, as real marginal silicon repeats
  its failures — which is what makes a Vmin search or a shmoo plot reproducible.
- More than `HANG_BELOW_V` (80 mV) under Vmin the core wedges: the run never ends and the
  UART stays silent until a power cycle (`ChipHung`).
- The tohost mailbox word is spared, so the host still learns how the run ended and the fault
  shows up where it is looked for: in the signature compared against the reference core.
"""

from __future__ import annotations

import hashlib
import math
import random
import struct

from bringup.simlab.monitor_firmware import ChipHung, RunOutcome, RunPoint

HANG_BELOW_V = 0.080
RATE_AT_VMIN = 0.005  # flipped bits per written word just under Vmin
RATE_E_FOLD_V = 0.006
MAX_RATE = 8.0
WEAK_BITS = 3
WEAK_SHARE = 0.85  # of all flips, the share that lands on the weak bit lines
_CHUNK = 64  # bytes compared at once when looking for the words a run wrote


class MarginalSilicon:
    """The below-Vmin behaviour of one die (its serial picks its weak bits)."""

    def __init__(self, serial: str) -> None:
        self.serial = serial
        die = random.Random(f"bringup.simlab.silicon/{serial}")
        self.weak_bits = tuple(sorted(die.sample(range(32), WEAK_BITS)))
        strong = WEAK_SHARE / WEAK_BITS
        weak = (1 - WEAK_SHARE) / (32 - WEAK_BITS)
        self._bit_weights = [strong if bit in self.weak_bits else weak for bit in range(32)]

    @staticmethod
    def flips_per_word(margin_v: float) -> float:
        """Expected flipped bits per written word at `margin_v` above Vmin (0 at or above it)."""
        if margin_v >= 0:
            return 0.0
        return min(MAX_RATE, RATE_AT_VMIN * math.exp(-margin_v / RATE_E_FOLD_V))

    def __call__(
        self, memory: bytearray, base_address: int, outcome: RunOutcome, point: RunPoint
    ) -> RunOutcome:
        if point.margin_v >= 0:
            return outcome
        if -point.margin_v > HANG_BELOW_V:
            raise ChipHung(
                f"chip {self.serial}: core {-point.margin_v * 1000:.0f} mV below Vmin wedged mid-run"
            )
        rng = random.Random(self._seed(point))
        rate = self.flips_per_word(point.margin_v)
        for offset in _written_words(point.ram_before, memory):
            if point.tohost is not None and base_address + offset == point.tohost:
                continue
            mask = self._flip_mask(rng, rate)
            if mask:
                (word,) = struct.unpack_from("<I", memory, offset)
                struct.pack_into("<I", memory, offset, word ^ mask)
        return outcome

    def _seed(self, point: RunPoint) -> bytes:
        operating_point = f"{round(point.margin_v * 1000)}mV/{round(point.core_mhz)}MHz"
        return hashlib.sha256(
            f"{self.serial}\n{operating_point}\n".encode() + point.program_digest
        ).digest()

    def _flip_mask(self, rng: random.Random, rate: float) -> int:
        mask = 0
        for bit in rng.choices(range(32), self._bit_weights, k=_poisson(rng, rate)):
            mask |= 1 << bit
        return mask


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: exact and fast for the small means used here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _written_words(before: bytes, after: bytearray) -> list[int]:
    """Byte offsets of the aligned words that differ between the two RAM images."""
    view = memoryview(after)
    offsets = []
    for start in range(0, len(before), _CHUNK):
        if before[start : start + _CHUNK] != view[start : start + _CHUNK]:
            offsets.extend(
                offset
                for offset in range(start, min(start + _CHUNK, len(before)), 4)
                if before[offset : offset + 4] != view[offset : offset + 4]
            )
    return offsets
