"""Steps that change rails — always through the PowerController, never a supply directly."""

from __future__ import annotations

from bringup.steps.base import Step, StepContext, StepOutcome


class PowerOnStep(Step):
    kind = "power_on"
    restores_state = True

    def run(self, ctx: StepContext) -> StepOutcome:
        ctx.power.power_on(self.spec.rails)
        rails = ", ".join(ctx.power.powered)
        if ctx.has_dut and set(ctx.power.powered) == set(ctx.station.spec.power_on_order):
            ctx.dut.wait_for_boot()  # commands sent before the firmware is up are lost
            return StepOutcome(True, f"powered {rails}; the chip booted")
        return StepOutcome(True, f"powered {rails}")


class PowerOffStep(Step):
    kind = "power_off"
    restores_state = True

    def run(self, ctx: StepContext) -> StepOutcome:
        failures = ctx.power.safe_off("power_off step")
        if failures:
            return StepOutcome(False, f"power-off incomplete: {'; '.join(failures)}")
        return StepOutcome(True, "all rails off")


class SetRailStep(Step):
    kind = "set_rail"
    restores_state = True

    def run(self, ctx: StepContext) -> StepOutcome:
        ctx.power.set_rail(self.spec.rail, self.spec.volts)
        return StepOutcome(True, f"{self.spec.rail} at {self.spec.volts} V")
