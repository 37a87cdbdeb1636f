"""What is physically on at the simulated bench, read from the lab itself (not through drivers)."""

from __future__ import annotations

from bringup.simlab import SimLab


def outputs_on(lab: SimLab) -> list[str]:
    """Every supply output and the clock that is on."""
    on = [f"{role} ch{channel.number}" for role, channels in lab.physics.supplies.items()
          for channel in channels if channel.output]
    if lab.physics.refclk.output:
        on.append("refclk")
    return on
