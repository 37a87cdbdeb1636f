"""What the shmoo and vmin steps share: the grid of operating points, running the suite at one
point, recovering a chip that hung there, settling the forcer, and a resumed run's record.

A point is (temperature, core clock, rail volts), named by its indices in the step's grid. Each
execution of the suite at a point gets its own `repeat` number, computed from the point's place
in the grid, so (run, step, vector, repeat) is the same key in every process: a resumed run
finds what a dead one recorded and replays it instead of measuring it again.

Safety: every voltage is checked against the rail's absolute maximum and the station's floor
(`min_v`) before it is commanded, and the move itself goes through the power controller like
any `set_rail`. A hung chip is reset through its monitor, then power-cycled (safe_off, then
power_on); a chip that does not come back ends the sweep with the reason.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bringup.dut.base import DutError, DutTimeout
from bringup.events import Conditions, SweepOutcome, SweepPoint, ThermalSample, VectorResult
from bringup.messages import first_line
from bringup.steps.base import RunAborted, RunFault, RunStopped, StepContext

EXECUTION_SLOTS = 16  # repeat numbers reserved per point (executions, at most the step's repeats)
THERMAL_POLL_S = 0.2
NON_PASS = (SweepOutcome.FAIL, SweepOutcome.HANG)


class SweepFailed(Exception):
    """The sweep cannot go on (chip not recoverable, forcer not at temperature): the reason."""


@dataclass(frozen=True, order=True)
class PointKey:
    temp: int
    mhz: int
    volts: int


@dataclass
class PointResult:
    outcome: SweepOutcome
    executions: int = 0
    vectors_passed: int = 0
    vectors_run: int = 0
    confirmed: bool = False
    die_c: float | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is SweepOutcome.PASS


@dataclass(frozen=True)
class SweepGrid:
    volts: list[float]
    mhz: list[float]
    temps: list[float | None]

    @property
    def total(self) -> int:
        return len(self.volts) * len(self.mhz) * len(self.temps)

    def flat(self, key: PointKey) -> int:
        return (key.temp * len(self.mhz) + key.mhz) * len(self.volts) + key.volts

    def conditions(self, key: PointKey) -> Conditions:
        return Conditions(vdd_core_v=self.volts[key.volts], core_mhz=self.mhz[key.mhz],
                          temperature_c=self.temps[key.temp])


def condition_key(step_index: int, volts: float | None, mhz: float | None,
                  temp: float | None) -> tuple[int, float | None, float | None, float | None]:
    """How a recorded point is found again: conditions rounded well below any sweep step."""
    return (step_index, None if volts is None else round(volts, 4), None if mhz is None else round(mhz, 1),
            None if temp is None else round(temp, 1))


@dataclass
class PointRunner:
    """Runs the suite at points of one sweep step; counts chip runs; never repeats a record."""

    ctx: StepContext
    spec: Any
    grid: SweepGrid
    rail: str
    vectors: list[Any]
    goldens: dict[str, bytes]
    results: dict[PointKey, PointResult] = field(default_factory=dict)
    chip_runs: int = 0  # vector executions on the chip (replayed ones do not count)
    hangs: int = 0
    # What a SweepPoint's done/total count. None: grid points reported, out of the whole grid
    # (a shmoo decides every point). A step that measures only part of its grid sets its own
    # units here (vmin: searches done, out of the searches it will make).
    progress: tuple[int, int] | None = None
    _reported: set[PointKey] = field(default_factory=set)
    _recorded: dict[tuple, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row in self.ctx.recorded_sweep_points:
            if row.step_index == self.ctx.step_index:  # rows come oldest first: the latest wins
                self._recorded[condition_key(row.step_index, row.vdd_core_v, row.core_mhz,
                                             row.temperature_c)] = row
        self._check_limits()

    # ------------------------------------------------------------------------ measuring
    def measure(self, key: PointKey, executions: int = 1) -> PointResult:
        """The point's outcome after at least `executions` runs of the suite (fewer when one
        fails or hangs: every execution must pass, so one failure decides it)."""
        result = self.results.get(key) or self._from_record(key)
        self.results[key] = result
        before = result.executions
        while result.executions < executions and result.outcome is SweepOutcome.PASS:
            self._execute(key, result)
        if result.executions > before or key not in self._reported:
            result.confirmed = result.confirmed or (executions > 1 and result.passed)
            self._report(key, result)
        return result

    def infer(self, key: PointKey) -> None:
        """Mark a point decided from its measured neighbours without running it."""
        if key in self.results:
            return
        self.results[key] = PointResult(SweepOutcome.INFERRED)
        if self._recorded_row(key) is None:
            self._report(key, self.results[key])
        else:
            self._reported.add(key)

    def search_ended(self, key: PointKey) -> None:
        """One more of the step's searches is done, decided at `key` (a point it measured).

        The point is reported again carrying the new count: the last point a search measures is
        reported before the search knows it is the last, so without this the step's progress
        would stop one search short of its total. The row repeats the point's verdict, and a
        point's latest row is its verdict, so every reader of sweep points sees the same map.
        """
        if self.progress is None:
            raise ValueError("search_ended() counts searches: set progress = (0, searches) first")
        done, total = self.progress
        self.progress = (done + 1, total)
        self._report(key, self.results[key])

    def _from_record(self, key: PointKey) -> PointResult:
        row = self._recorded_row(key)
        if row is None or row.outcome == SweepOutcome.INFERRED:
            return PointResult(SweepOutcome.PASS)  # nothing run yet: no failure seen
        self._reported.add(key)
        outcome = SweepOutcome(row.outcome)
        executions = row.vectors_run // len(self.vectors) if outcome is not SweepOutcome.HANG else 1
        return PointResult(outcome, executions, row.vectors_passed, row.vectors_run, bool(row.confirmed),
                           row.die_c)

    def _recorded_row(self, key: PointKey) -> Any:
        c = self.grid.conditions(key)
        return self._recorded.get(condition_key(self.ctx.step_index, c.vdd_core_v, c.core_mhz,
                                                c.temperature_c))

    def _execute(self, key: PointKey, result: PointResult) -> None:
        ctx = self.ctx
        repeat = self.grid.flat(key) * EXECUTION_SLOTS + result.executions
        conditions = self.grid.conditions(key)
        for vector in self.vectors:
            recorded = ctx.recorded_vector_passes.get((ctx.step_index, vector.content_hash, repeat))
            if recorded is None:
                ctx.control.checkpoint()
                recorded = self._run_vector(vector, repeat, conditions)
                if recorded is None:
                    result.outcome = SweepOutcome.HANG
                    result.executions += 1
                    return
            result.vectors_run += 1
            result.vectors_passed += recorded
            if not recorded:
                result.outcome = SweepOutcome.FAIL
        result.executions += 1

    def _run_vector(self, vector: Any, repeat: int, conditions: Conditions) -> bool | None:
        """One vector at the point; None when the chip hung (it is recovered before returning)."""
        from bringup.vectors.runner import run_one

        ctx = self.ctx
        self._go_to(conditions)
        start = time.perf_counter()
        self.chip_runs += 1
        try:
            with _dut_timeouts(ctx.dut, self.spec.hang_timeout_s):
                outcome = run_one(ctx.dut, vector, self.goldens[vector.content_hash],
                                  clock_mhz=conditions.core_mhz)
        except DutTimeout as exc:
            self.ctx.control.check()  # silent because an abort powered it down: no hang, no recovery
            self.hangs += 1
            self._recover(conditions, exc)
            return None
        comparison = outcome.comparison
        ctx.emit(VectorResult(
            run_id=ctx.run_id, step_index=ctx.step_index, vector_name=vector.name,
            content_hash=vector.content_hash, passed=outcome.passed, expected=comparison.expected,
            actual=comparison.actual, first_mismatch_addr=comparison.first_mismatch_address,
            flipped_bits=comparison.flipped_bits, repeat=repeat, conditions=conditions,
            duration_s=time.perf_counter() - start,
        ))  # fmt: skip
        return outcome.passed

    def _go_to(self, conditions: Conditions) -> None:
        volts = conditions.vdd_core_v
        self._check_volts(volts)
        if self.ctx.power.setpoint(self.rail) != volts:
            self.ctx.power.set_rail(self.rail, volts)
        self.ctx.core_mhz = conditions.core_mhz

    def _report(self, key: PointKey, result: PointResult) -> None:
        self._reported.add(key)
        if result.outcome is not SweepOutcome.INFERRED and result.die_c is None \
                and result.outcome is not SweepOutcome.HANG:
            result.die_c = _die_temperature(self.ctx)
        ctx = self.ctx
        done, total = self.progress or (len(self._reported), self.grid.total)
        ctx.emit(SweepPoint(
            run_id=ctx.run_id, step_index=ctx.step_index, conditions=self.grid.conditions(key),
            outcome=result.outcome, confirmed=result.confirmed, vectors_passed=result.vectors_passed,
            vectors_run=result.vectors_run, done=done, total=total, die_c=result.die_c,
        ))  # fmt: skip

    # ------------------------------------------------------------------------ safety
    def _check_limits(self) -> None:
        for volts in (self.grid.volts[0], self.grid.volts[-1]):
            self._check_volts(volts)

    def _check_volts(self, volts: float) -> None:
        spec = self.ctx.station.spec.rails[self.rail]
        if volts > spec.abs_max_v or (spec.min_v is not None and volts < spec.min_v):
            floor = f"floor {spec.min_v} V" if spec.min_v is not None else "no floor"
            raise SweepFailed(f"{volts} V on {self.rail} is outside the station's limits "
                              f"({floor}, absolute maximum {spec.abs_max_v} V)")

    def _recover(self, conditions: Conditions, why: Exception) -> None:
        """Monitor reset first; if the chip stays silent, a power cycle; else the sweep ends."""
        ctx = self.ctx
        where = f"{conditions.vdd_core_v} V, {conditions.core_mhz:g} MHz"
        ctx.log(f"chip hung at {where} ({first_line(why)[:80]}); recovering", "warning")
        try:
            with _dut_timeouts(ctx.dut, self.spec.hang_timeout_s, boot=True):
                ctx.dut.reset()
            ctx.log(f"recovered the chip after the hang at {where}: monitor reset")
            return
        except DutError:
            pass
        try:
            failures = ctx.power.safe_off(f"sweep: power cycle after a hang at {where}")
            if failures:
                raise SweepFailed(f"power-down failed: {'; '.join(failures)}")
            ctx.control.check()
            ctx.power.power_on()
            with _dut_timeouts(ctx.dut, self.spec.hang_timeout_s, boot=True):
                ctx.dut.wait_for_boot()  # the banner came while the rails were verified
        except (RunAborted, RunStopped, RunFault):
            raise
        except Exception as exc:
            raise SweepFailed(f"the chip did not recover after hanging at {where}: "
                              f"{first_line(exc)}") from None
        ctx.log(f"recovered the chip after the hang at {where}: power cycle")


def between_points(ctx: StepContext, where: str) -> None:
    """A safe place to pause, stop or abort: the last point is recorded, the next not begun."""
    ctx.control.checkpoint()
    if ctx.control.stop_reason:
        raise RunStopped(f"{ctx.control.stop_reason} (in step {ctx.step_index + 1}, {where})")


def ensure_powered(ctx: StepContext, rail: str) -> None:
    """A sweep needs the chip up: power it on in station order if a step before did not."""
    if rail not in ctx.power.powered:
        ctx.power.power_on()
        ctx.dut.wait_for_boot()


def settle_temperature(ctx: StepContext, spec: Any, celsius: float) -> float:
    """Set the forcer, wait (bounded) for at-temperature and the soak, then check the die against
    the set point; samples of both are emitted while waiting. Returns the die temperature."""
    forcer = ctx.station.of_role("thermal_forcer")[0]
    forcer.head_down()
    forcer.set_flow(True)
    forcer.set_window(spec.window_c)
    forcer.set_soak(spec.soak_s)
    forcer.set_temperature(celsius)
    forcer.check_errors()
    deadline = time.monotonic() + spec.settle_timeout_s
    while True:
        at_temperature = forcer.at_temperature()
        air, die = forcer.temperature(), _die_temperature(ctx)
        ctx.emit(ThermalSample(run_id=ctx.run_id, setpoint_c=celsius, forcer_c=air, die_c=die,
                               at_temperature=at_temperature, head="down"))
        if at_temperature:
            break
        if time.monotonic() >= deadline:
            raise SweepFailed(f"forcer not at {celsius:g} °C within {spec.settle_timeout_s:g} s "
                              f"(air reads {air:.1f} °C)")
        ctx.control.sleep(THERMAL_POLL_S)
    if die is None or abs(die - celsius) > spec.die_tolerance_c:
        raise SweepFailed(f"die reads {die} °C at a {celsius:g} °C set point, more than "
                          f"{spec.die_tolerance_c:g} °C apart — check the forcer head and the die sensor")
    ctx.temperature_c = celsius
    ctx.log(f"at {celsius:g} °C: air {air:.1f} °C, die {die:.1f} °C")
    return die


def _die_temperature(ctx: StepContext) -> float | None:
    if ctx.control.ending:
        return None  # an aborted run's chip is unpowered: do not wait for it to answer
    try:
        return ctx.dut.die_temperature()
    except DutError:
        return None


@contextlib.contextmanager
def _dut_timeouts(dut: Any, seconds: float, *, boot: bool = False) -> Iterator[None]:
    """How long a silent chip is given before its point is called a hang (a DUT without
    adjustable timeouts keeps its own)."""
    names = ("timeout_s", "boot_timeout_s") if boot else ("timeout_s",)
    saved = {name: getattr(dut, name) for name in names if hasattr(dut, name)}
    for name in saved:
        setattr(dut, name, seconds)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(dut, name, value)


def sweep_setup(ctx: StepContext, spec: Any, mhz: list[float]) -> PointRunner:
    """The grid, the suite and its goldens, and the chip powered: what both sweep steps start with."""
    library = ctx.vector_source
    vectors = library.vectors(spec.suite, seed=spec.seed, count=spec.count, length=spec.length)
    temps: list[float | None] = list(spec.temperatures_c) or [ctx.temperature_c]
    grid = SweepGrid(spec.volts.values(), list(mhz), temps)
    rail = spec.rail or ctx.station.spec.core_rail_name
    runner = PointRunner(ctx, spec, grid, rail, vectors, library.goldens(vectors))
    ensure_powered(ctx, rail)
    return runner


def column_boundary(runner: PointRunner, temp: int, mhz: int) -> int | None:
    """Grid index of the lowest voltage above the column's highest non-passing point."""
    measured = [key.volts for key, result in runner.results.items()
                if key.temp == temp and key.mhz == mhz and result.outcome in NON_PASS]
    lowest = max(measured) + 1 if measured else 0
    return lowest if lowest < len(runner.grid.volts) else None


def search_boundary(passes: Any, count: int, guess: int) -> tuple[int, int]:
    """(lo, hi): the highest failing and the lowest passing index above it, assuming the column
    is monotone; -1 / `count` where there is none. Gallops from `guess` (a neighbour's boundary),
    then bisects, so a good guess costs two or three measurements."""
    guess = min(max(guess, 0), count - 1)
    if passes(guess):
        lo, hi, stride = -1, guess, 1
        while hi > 0:
            probe = max(0, hi - stride)
            if not passes(probe):
                lo = probe
                break
            hi, stride = probe, stride * 2
    else:
        lo, hi, stride = guess, count, 1
        while lo < count - 1:
            probe = min(count - 1, lo + stride)
            if passes(probe):
                hi = probe
                break
            lo, stride = probe, stride * 2
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if passes(middle):
            hi = middle
        else:
            lo = middle
    return lo, hi
