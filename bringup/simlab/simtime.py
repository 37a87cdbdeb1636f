"""Simulated time: wall-clock time multiplied by `time_scale`, so demos can run accelerated."""

from __future__ import annotations

import time


class SimClock:
    """Seconds of simulated time since the lab started; every time constant is in these units."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = time_scale
        self._origin = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._origin) * self.time_scale

    def real_seconds(self, simulated_seconds: float) -> float:
        """How long `simulated_seconds` take on the wall clock."""
        return simulated_seconds / self.time_scale
