"""vmin: per core clock (and temperature), the lowest rail voltage at which the suite passes.

The pass criterion is stated and strict: a voltage passes only if every one of `repeats`
executions passes. The search gallops from the previous frequency's Vmin and bisects to the
step's resolution (`volts.step`). The result is recorded as the measurement `vmin` (volts, with
the frequency and temperature as its conditions) — what `bringup query vmin` reads — and, with
`guard_band_v` added, as `vmin_guardbanded`; `max_vmin_v` is its upper limit.
"""

from __future__ import annotations

from bringup.events import Conditions, Measurement
from bringup.limits import within
from bringup.steps.base import Step, StepContext, StepOutcome
from bringup.steps.sweep import (
    PointKey,
    PointRunner,
    SweepFailed,
    between_points,
    search_boundary,
    settle_temperature,
    sweep_setup,
)


class VminStep(Step):
    kind = "vmin"

    def run(self, ctx: StepContext) -> StepOutcome:
        spec = self.spec
        try:
            runner = sweep_setup(ctx, spec, spec.mhz)
        except SweepFailed as exc:  # outside the station's limits: refused before any move
            return StepOutcome(False, f"vmin search not started: {exc}")
        found: list[str] = []
        problems: list[str] = []
        # Progress in searches, not grid points: a search measures a handful of its column's
        # voltages, so a count out of the whole grid would never come near its total.
        runner.progress = (0, len(runner.grid.temps) * len(runner.grid.mhz))
        try:
            for temp, celsius in enumerate(runner.grid.temps):
                if spec.temperatures_c:
                    settle_temperature(ctx, spec, celsius)
                self._temperature(runner, temp, found, problems)
        except SweepFailed as exc:
            return StepOutcome(False, f"vmin search ended: {exc}")
        summary = f"Vmin {', '.join(found) or 'none found'} ({runner.chip_runs} chip runs)"
        if problems:
            return StepOutcome(False, f"{summary}; {'; '.join(problems)}")
        return StepOutcome(True, summary)

    def _temperature(self, runner: PointRunner, temp: int, found: list[str], problems: list[str]) -> None:
        spec, grid = self.spec, runner.grid
        guess = len(grid.volts) - 1
        for mhz, frequency in enumerate(grid.mhz):
            def passes(volts: int, mhz: int = mhz) -> bool:
                between_points(runner.ctx, f"{grid.mhz[mhz]:g} MHz")
                return runner.measure(PointKey(temp, mhz, volts), spec.repeats).passed

            _, lowest = search_boundary(passes, len(grid.volts), guess)
            # Decided at the lowest pass, or, where none passed, at the top of the range.
            runner.search_ended(PointKey(temp, mhz, min(lowest, len(grid.volts) - 1)))
            celsius = grid.temps[temp]
            where = f"{frequency:g} MHz" + ("" if celsius is None else f", {celsius:g} °C")
            if lowest == len(grid.volts):
                problems.append(f"no voltage up to {grid.volts[-1]} V passes at {where}")
                continue
            if lowest == 0:
                runner.ctx.log(f"Vmin at {where} is at or below {grid.volts[0]} V, the bottom of the "
                               "search range", "warning")
            vmin = grid.volts[lowest]
            if not self._record(runner.ctx, vmin, Conditions(core_mhz=frequency, temperature_c=celsius)):
                problems.append(f"Vmin {vmin:g} V + guard band at {where} is above {spec.max_vmin_v} V")
            found.append(f"{vmin:g} V at {where}")
            guess = lowest

    def _record(self, ctx: StepContext, vmin: float, conditions: Conditions) -> bool:
        spec = self.spec
        guarded = round(vmin + spec.guard_band_v, 6)
        passed = within(guarded, None, spec.max_vmin_v)
        for name, value, verdict in (("vmin", vmin, None), ("vmin_guardbanded", guarded, passed)):
            ctx.emit(Measurement(run_id=ctx.run_id, step_index=ctx.step_index, name=name, value=value,
                                 units="V", high=spec.max_vmin_v if verdict is not None else None,
                                 passed=verdict, conditions=conditions))
        return passed is not False
