"""Air temperature of the thermal forcer: a first-order approach to its target."""

from __future__ import annotations

import math

AMBIENT_C = 25.0
AIR_TIME_CONSTANT_S = 20.0


class AirTemperature:
    """T(t) = target + (T0 - target) * exp(-(t - t0) / tau), restarted whenever the target moves.

    Computed from elapsed simulated time when asked, so nothing ticks in the background.
    """

    def __init__(self, now: float, tau_s: float = AIR_TIME_CONSTANT_S) -> None:
        self.tau_s = tau_s
        self._t0 = now
        self._start_c = AMBIENT_C
        self.target_c = AMBIENT_C

    def at(self, now: float) -> float:
        elapsed = max(0.0, now - self._t0)
        return self.target_c + (self._start_c - self.target_c) * math.exp(-elapsed / self.tau_s)

    def retarget(self, now: float, target_c: float) -> None:
        if target_c == self.target_c:
            return
        self._start_c = self.at(now)
        self._t0 = now
        self.target_c = target_c

    def entered_window_at(self, window_c: float) -> float:
        """Simulated time at which the air came within `window_c` of the target (and stays)."""
        gap = abs(self._start_c - self.target_c)
        if gap <= window_c:
            return self._t0
        return self._t0 + self.tau_s * math.log(gap / window_c)
