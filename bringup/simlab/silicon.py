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
- A run below Vmin never comes out clean: when the draw flipped nothing, the weakest bit line
  fails in every word the run wrote. Pass/fail is then a sharp, monotone edge at Vmin unless
  a test switches on what real silicon also does:
  - `marginal_band_v`: just above Vmin (margin in [0, band)) a run fails intermittently, half
    the time, drawn per execution from a seeded stream: reproducible run after run of the lab,
    different from one repeat to the next;
  - `holes`: failing islands above the boundary (`Hole`), which a monotone search would miss.
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
from collections import Counter
from dataclasses import dataclass

from bringup.simlab.monitor_firmware import ChipHung, RunOutcome, RunPoint

HANG_BELOW_V = 0.080
RATE_AT_VMIN = 0.005  # flipped bits per written word just under Vmin
RATE_E_FOLD_V = 0.006
MAX_RATE = 8.0
WEAK_BITS = 3
WEAK_SHARE = 0.85  # of all flips, the share that lands on the weak bit lines
_CHUNK = 64  # bytes compared at once when looking for the words a run wrote


INTERMITTENT_FAIL_CHANCE = 0.5
HOLE_MARGIN_V = -0.030  # a run inside a hole fails as if 30 mV below Vmin


@dataclass(frozen=True)
class Hole:
    """A failing island above the boundary: core clocks in [mhz_low, mhz_high] and margins above
    Vmin in [margin_low_v, margin_high_v) fail although lower voltages pass."""

    mhz_low: float
    mhz_high: float
    margin_low_v: float
    margin_high_v: float

    def contains(self, core_mhz: float, margin_v: float) -> bool:
        return (self.mhz_low <= core_mhz <= self.mhz_high
                and self.margin_low_v <= margin_v < self.margin_high_v)


class MarginalSilicon:
    """The below-Vmin behaviour of one die (its serial picks its weak bits)."""

    def __init__(self, serial: str, *, marginal_band_v: float = 0.0, holes: tuple[Hole, ...] = ()) -> None:
        self.serial = serial
        self.marginal_band_v = marginal_band_v
        self.holes = holes
        self._executions: Counter[bytes] = Counter()  # runs so far at each (point, program)
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
        margin_v = self._effective_margin(point)
        if margin_v >= 0:
            return outcome
        if -margin_v > HANG_BELOW_V:
            raise ChipHung(
                f"chip {self.serial}: core {-margin_v * 1000:.0f} mV below Vmin wedged mid-run"
            )
        rng = random.Random(self._seed(point))
        rate = self.flips_per_word(margin_v)
        written = [offset for offset in _written_words(point.ram_before, memory)
                   if point.tohost is None or base_address + offset != point.tohost]
        flipped = False
        for offset in written:
            mask = self._flip_mask(rng, rate)
            if mask:
                _flip(memory, offset, mask)
                flipped = True
        if not flipped:  # below Vmin a run never comes out clean: the weakest bit line gives way
            for offset in written:
                _flip(memory, offset, 1 << self.weak_bits[0])
        return outcome

    def _effective_margin(self, point: RunPoint) -> float:
        """The margin the run behaves as if at: holes and the marginal band make it fail."""
        if point.margin_v < 0:
            return point.margin_v
        if any(hole.contains(point.core_mhz, point.margin_v) for hole in self.holes):
            return HOLE_MARGIN_V
        if point.margin_v < self.marginal_band_v and self._intermittent_fail(point):
            return -0.001
        return point.margin_v

    def _intermittent_fail(self, point: RunPoint) -> bool:
        key = self._seed(point)
        self._executions[key] += 1
        draw = random.Random(key + self._executions[key].to_bytes(4, "little")).random()
        return draw < INTERMITTENT_FAIL_CHANCE

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


def _flip(memory: bytearray, offset: int, mask: int) -> None:
    (word,) = struct.unpack_from("<I", memory, offset)
    struct.pack_into("<I", memory, offset, word ^ mask)


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
