"""The thermal forcer under the run's control: limits before the first set point, a park at the end.

A forcer left at 85 °C with its head down heats the next chip; so whatever ends a run (pass,
fail, abort, error) and `bringup estop` park it: set point back to ambient, flow off, head up,
as the station file's `forcer:` section says (defaults: 25 °C, flow off, head up). Its air
temperature limits from the same section are programmed with `set_limits` before the first set
point of a run, so a runbook typo cannot drive the air past what the socket tolerates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bringup.messages import first_line

if TYPE_CHECKING:
    from bringup.station import ForcerSpec


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


def park_forcer(forcer: Any, settings: ForcerSpec) -> list[str]:
    """Every park action is tried even when one fails; the failures come back as lines."""
    actions = [("set point", lambda: forcer.set_temperature(settings.park_c))]
    if settings.park_flow_off:
        actions.append(("flow off", lambda: forcer.set_flow(False)))
    if settings.park_head_up:
        actions.append(("head up", lambda: forcer.head_up()))
    failures = []
    for what, action in actions:
        try:
            action()
        except Exception as exc:
            failures.append(f"forcer {what}: {first_line(exc)}")
    return failures


def describe_park(settings: ForcerSpec) -> str:
    parts = [f"{settings.park_c:g} °C"]
    if settings.park_flow_off:
        parts.append("flow off")
    if settings.park_head_up:
        parts.append("head up")
    return ", ".join(parts)
