"""set_temperature: forcer set point, window and soak; waits until at temperature or times out.

The forcer's limits go in before its first set point and it is parked at the end of the run
(bringup/thermal.py); the wait wakes at once on abort.
"""

from __future__ import annotations

import time

from bringup.events import ThermalSample
from bringup.steps.base import Step, StepContext, StepOutcome

POLL_S = 0.2


class SetTemperatureStep(Step):
    kind = "set_temperature"
    restores_state = True

    def run(self, ctx: StepContext) -> StepOutcome:
        spec = self.spec
        thermal = ctx.thermal
        if thermal is None:
            raise RuntimeError(f"station {ctx.station.spec.name} has no thermal forcer — add one "
                               "(driver: temptronic_ats) to the station file")
        forcer = thermal.forcer
        thermal.set_point(spec.celsius, window_c=spec.window_c, soak_s=spec.soak_s)
        deadline = time.monotonic() + spec.timeout_s
        while True:
            # Each poll is recorded (thermal_sample), so the night's temperature history and
            # the live panel show the forcer getting there, not only the sweeps' settling.
            at_temperature = forcer.at_temperature()
            air = forcer.temperature()
            ctx.emit(ThermalSample(run_id=ctx.run_id, setpoint_c=spec.celsius, forcer_c=air,
                                   at_temperature=at_temperature, head="down"))
            if at_temperature:
                break
            if time.monotonic() >= deadline:
                return StepOutcome(False, f"not at {spec.celsius:g} °C within {spec.timeout_s:g} s "
                                   f"(reads {air:.1f} °C)")
            ctx.control.sleep(POLL_S)
        ctx.temperature_c = spec.celsius
        return StepOutcome(True, f"at {air:.1f} °C (set {spec.celsius:g} °C)")
