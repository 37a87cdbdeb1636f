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


def forcer_state(lab: SimLab) -> dict[str, object]:
    """The simulated forcer's selected set point, flow, head and air limits."""
    forcer = lab.servers["forcer"].instrument
    return {"setpoint_c": forcer.setpoints[forcer.selected], "flow_on": forcer.flow_on,
            "head_down": forcer.head_down, "limits_c": (forcer.lower_c, forcer.upper_c)}
