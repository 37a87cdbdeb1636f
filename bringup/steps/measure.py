"""measure: one value from a supply, the meter or the chip, checked against its limits."""

from __future__ import annotations

from bringup.steps.base import Step, StepContext, StepOutcome


class MeasureStep(Step):
    kind = "measure"

    def run(self, ctx: StepContext) -> StepOutcome:
        spec = self.spec
        value = self._read(ctx)
        name = spec.name or (f"{spec.rail} {spec.quantity}" if spec.rail else spec.quantity)
        passed = ctx.measure(name, value, spec.unit, spec.low, spec.high)
        verdict = "within" if passed else "outside"
        limits = f"[{_fmt(spec.low)}, {_fmt(spec.high)}]"
        return StepOutcome(passed, f"{name} = {value:.6g} {spec.unit} {verdict} {limits}")

    def _read(self, ctx: StepContext) -> float:
        spec = self.spec
        if spec.quantity == "die_temperature":
            return ctx.dut.die_temperature()
        rail = ctx.station.rails[spec.rail]
        if spec.source == "meter":
            meter = rail.meter
            if spec.quantity == "voltage":
                meter.configure_dc_voltage()
            else:
                meter.configure_dc_current()
            return meter.read()
        if spec.quantity == "voltage":
            return rail.channel.measure_voltage()
        return rail.channel.measure_current()


def _fmt(limit: float | None) -> str:
    return "-" if limit is None else f"{limit:g}"
