"""set_temperature: forcer set point, window and soak; waits until at temperature or times out."""

from __future__ import annotations

import time

from bringup.steps.base import Step, StepContext, StepOutcome

POLL_S = 0.2


class SetTemperatureStep(Step):
    kind = "set_temperature"
    restores_state = True

    def run(self, ctx: StepContext) -> StepOutcome:
        spec = self.spec
        forcer = ctx.station.of_role("thermal_forcer")[0]
        forcer.head_down()
        forcer.set_flow(True)
        forcer.set_window(spec.window_c)
        forcer.set_soak(spec.soak_s)
        forcer.set_temperature(spec.celsius)
        forcer.check_errors()
        deadline = time.monotonic() + spec.timeout_s
        while not forcer.at_temperature():
            if time.monotonic() >= deadline:
                return StepOutcome(False, f"not at {spec.celsius:g} °C within {spec.timeout_s:g} s "
                                   f"(reads {forcer.temperature():.1f} °C)")
            ctx.control.sleep(POLL_S)
        ctx.temperature_c = spec.celsius
        return StepOutcome(True, f"at {forcer.temperature():.1f} °C (set {spec.celsius:g} °C)")
