"""set_clock: the chip's core clock, through its monitor."""

from __future__ import annotations

from bringup.steps.base import Step, StepContext, StepOutcome


class SetClockStep(Step):
    kind = "set_clock"
    restores_state = True

    def run(self, ctx: StepContext) -> StepOutcome:
        actual = ctx.dut.set_clock(self.spec.mhz)
        ctx.core_mhz = actual
        if abs(actual - self.spec.mhz) > 0.5:
            return StepOutcome(False, f"asked for {self.spec.mhz:g} MHz, the chip set {actual:g} MHz")
        return StepOutcome(True, f"core clock {actual:g} MHz")
