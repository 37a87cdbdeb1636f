"""Process corner of a simulated die, derived from its serial, and what it implies.

Each serial hashes to a fixed sigma in [-3, 3] (slow to fast silicon), so a chip keeps its
character across runs and two chips differ: fast dies leak more and reach lower Vmin.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from statistics import NormalDist

SIGMA_LIMIT = 3.0
# Vmin model: a TT die needs 0.55 V + 0.22 mV per MHz at 25 degC; hotter dies need a little
# more (no temperature inversion on this node); each sigma of speed buys 15 mV.
VMIN_BASE_V = 0.55
VMIN_V_PER_MHZ = 0.00022
VMIN_V_PER_DEGC = 0.0003
VMIN_V_PER_SIGMA = 0.015
LEAKAGE_PER_SIGMA = 0.25  # leakage scales by exp(0.25 * sigma)


@dataclass(frozen=True)
class ProcessCorner:
    serial: str
    sigma: float

    @classmethod
    def from_serial(cls, serial: str) -> ProcessCorner:
        digest = hashlib.sha256(serial.encode("utf-8")).digest()
        uniform = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64
        sigma = max(-SIGMA_LIMIT, min(SIGMA_LIMIT, NormalDist().inv_cdf(uniform)))
        return cls(serial, sigma)

    @property
    def name(self) -> str:
        """SS, S, TT, F or FF."""
        if self.sigma <= -2:
            return "SS"
        if self.sigma <= -1:
            return "S"
        if self.sigma < 1:
            return "TT"
        return "F" if self.sigma < 2 else "FF"

    @property
    def leakage_factor(self) -> float:
        return math.exp(LEAKAGE_PER_SIGMA * self.sigma)

    def vmin(self, core_mhz: float, die_c: float) -> float:
        """Lowest core voltage at which this die computes correctly at `core_mhz` and `die_c`."""
        return (
            VMIN_BASE_V
            + VMIN_V_PER_MHZ * core_mhz
            + VMIN_V_PER_DEGC * (die_c - 25.0)
            - VMIN_V_PER_SIGMA * self.sigma
        )
