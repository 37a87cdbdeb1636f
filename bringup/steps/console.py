"""console_expect: send a line (optionally) and wait for a pattern on the chip's UART."""

from __future__ import annotations

from bringup.messages import first_line
from bringup.steps.base import Step, StepContext, StepOutcome


class ConsoleExpectStep(Step):
    kind = "console_expect"

    def run(self, ctx: StepContext) -> StepOutcome:
        from instruments.errors import InstrumentError

        console = ctx.station.console
        if self.spec.send is not None:
            console.write_line(self.spec.send)
        try:
            found = console.expect(self.spec.pattern, timeout=self.spec.timeout_s)
        except InstrumentError as exc:
            return StepOutcome(False, first_line(exc))
        return StepOutcome(True, f"saw {found.match.group(0)!r}")
