"""wait and checkpoint: time, and a place where the operator may pause the run."""

from __future__ import annotations

from bringup.steps.base import Step, StepContext, StepOutcome


class WaitStep(Step):
    kind = "wait"

    def run(self, ctx: StepContext) -> StepOutcome:
        ctx.control.sleep(self.spec.seconds)
        return StepOutcome(True, f"waited {self.spec.seconds:g} s")


class CheckpointStep(Step):
    kind = "checkpoint"

    def run(self, ctx: StepContext) -> StepOutcome:
        if ctx.control.paused:
            ctx.log(f"paused at checkpoint {self.title}")
        ctx.control.checkpoint()
        return StepOutcome(True, "checkpoint passed")
