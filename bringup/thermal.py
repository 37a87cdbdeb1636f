"""The thermal forcer under the run's control: limits before the first set point, a park at the end.

A forcer left at 85 °C with its head down heats the next chip; so whatever ends a run (pass,
fail, abort, error) and `bringup estop` park it: set point back to ambient, flow off, head up,
as the station file's `forcer:` section says (defaults: 25 °C, flow off, head up). Its air
temperature limits from the same section are programmed with `set_limits` before the first set
point of a run, so a runbook typo cannot drive the air past what the socket tolerates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bringup.messages import attempt

if TYPE_CHECKING:
    from bringup.station import ForcerSpec

# How long a park keeps retrying a forcer that does not answer (as a power-down does a supply).
PARK_RETRY_S = 5.0


class ThermalController:
    """One forcer of a station, with the station's park and limit settings."""

    def __init__(self, forcer: Any, settings: ForcerSpec) -> None:
        self.forcer = forcer
        self.settings = settings
        self._limits_set = False

    def set_point(self, celsius: float, *, window_c: float, soak_s: float) -> None:
        """Program limits (once), then head down, flow on, window, soak and the set point."""
        if not self._limits_set:
            self.forcer.set_limits(self.settings.low_c, self.settings.high_c)
            self._limits_set = True
        self.forcer.head_down()
        self.forcer.set_flow(True)
        self.forcer.set_window(window_c)
        self.forcer.set_soak(soak_s)
        self.forcer.set_temperature(celsius)
        self.forcer.check_errors()

    def park(self) -> list[str]:
        """Ambient set point, flow off, head up; never raises. Returns what failed."""
        return park_forcer(self.forcer, self.settings)


def park_forcer(forcer: Any, settings: ForcerSpec, *, retry_s: float = PARK_RETRY_S,
                sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Set point, flow off, head up, in that order; never raises. Returns what failed.

    The order matters (a forcer refuses flow off while it still forces away from ambient), so a
    pass stops at the first action that fails and the next pass starts there again: a forcer
    that stops answering for a moment is retried, like a silent supply at power-down, until
    `retry_s` has passed. Then every action left is tried once more and what failed is reported.
    """
    actions = [("set point", lambda: forcer.set_temperature(settings.park_c))]
    if settings.park_flow_off:
        actions.append(("flow off", lambda: forcer.set_flow(False)))
    if settings.park_head_up:
        actions.append(("head up", lambda: forcer.head_up()))
    deadline = time.monotonic() + retry_s
    while actions and time.monotonic() < deadline:
        what, action = actions[0]
        if attempt(action) is None:
            actions.pop(0)
        else:
            sleep(0.2)
    failures = []
    for what, action in actions:
        error = attempt(action)
        if error is not None:
            failures.append(f"forcer {what}: {error}")
    return failures


def describe_park(settings: ForcerSpec) -> str:
    parts = [f"{settings.park_c:g} °C"]
    if settings.park_flow_off:
        parts.append("flow off")
    if settings.park_head_up:
        parts.append("head up")
    return ", ".join(parts)
