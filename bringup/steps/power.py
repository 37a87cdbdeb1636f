"""Steps that change rails — always through the PowerController, never a supply directly.

`power_on` of every rail also waits for the chip's firmware and checks that the chip names
itself with the serial the run was started for (the monitor's `ID`): a wrong chip stops the run
before any vector is run on it or recorded under its name.
"""

from __future__ import annotations

from bringup.steps.base import ChipMismatch, Step, StepContext, StepOutcome


class PowerOnStep(Step):
    kind = "power_on"
    restores_state = True

    def run(self, ctx: StepContext) -> StepOutcome:
        ctx.power.power_on(self.spec.rails)
        rails = ", ".join(ctx.power.powered)
        if not ctx.power.all_rails_up:
            return StepOutcome(True, f"powered {rails}; the clock stays off until every rail is up")
        if not ctx.has_dut:
            ctx.log(f"station {ctx.station.spec.name} has no console: the chip's identity is not "
                    "checked", "warning")
            return StepOutcome(True, f"powered {rails}")
        ctx.dut.wait_for_boot()  # commands sent before the firmware is up are lost
        return StepOutcome(True, f"powered {rails}; the chip booted{_check_identity(ctx)}")


def _check_identity(ctx: StepContext) -> str:
    """Compare the chip's own serial with the run's; raise ChipMismatch when they differ."""
    identify = getattr(ctx.dut, "identify", None)
    if identify is None or not ctx.chip_serial:
        return ""
    seen = identify().get("chip")
    if seen is None:
        ctx.log("the chip's ID names no serial: its identity is not checked", "warning")
        return ""
    if seen != ctx.chip_serial:
        raise ChipMismatch(f"the chip on the bench is {seen}, but the run is for {ctx.chip_serial} "
                           "— put the right chip in the socket or start the run with --chip "
                           f"{seen}")
    return f" and named itself {seen}"


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
