"""The run_vectors step computes missing goldens in workers while the chip (here the reference
DUT) runs earlier vectors; its waits end at once on abort and a golden that fails is an error."""

from __future__ import annotations

import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from itertools import groupby
from pathlib import Path

import pytest
from polling import wait_until
from test_golden import exit_with, program

from bringup.dut.reference import ReferenceDut
from bringup.events import Log, VectorResult
from bringup.runbook import RunVectors
from bringup.steps.base import RunAborted, RunControl, StepContext
from bringup.steps.vectors import RunVectorsStep
from bringup.vectors import DirectoryCache, GoldenError, Vector, golden_pool
from bringup.vectors import golden as golden_module
from bringup.vectors.library import VectorLibrary

BOUND_S = 10.0  # generous: the step must end long before the blocked golden would


class Suite:
    """A vector source of given vectors (VectorLibrary's two members the step uses)."""

    def __init__(self, vectors: list[Vector], cache: DirectoryCache) -> None:
        self._vectors = vectors
        self.cache = cache

    def vectors(self, suite: str, **_: object) -> list[Vector]:
        return self._vectors


class PoweredBench:
    """What the step asks of the power controller: every rail up, the clock running."""

    clock_running = True
    powered: tuple[str, ...] = ()


def context(source: object, dut_factory=ReferenceDut) -> tuple[StepContext, list[object]]:
    events: list[object] = []
    ctx = StepContext(run_id="run-1", station=None, power=PoweredBench(),  # type: ignore[arg-type]
                      control=RunControl(),
                      publish=events.append, dut_factory=dut_factory, vector_source=source)
    return ctx, events


class ChipThatStartsWhen(ReferenceDut):
    """A chip whose first run waits (bounded) for `ready()`: the test's ordering, not a race."""

    def __init__(self, ready, **kwargs) -> None:
        super().__init__(**kwargs)
        self._ready = ready

    def run(self, entry, max_steps, *, tohost=None):
        wait_until(self._ready, BOUND_S, "the golden workers to reach the held batch")
        return super().run(entry, max_steps, tohost=tohost)


def random_step(count: int) -> RunVectorsStep:
    return RunVectorsStep(RunVectors(step="run_vectors", suite="random", count=count, length=5))


class Gated:
    """Workers are threads here; the reference core in them passes `free` calls, then is held
    at a gate. The step's own (in-line) calls are never held. Records who computed what."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, free: int = 0) -> None:
        self.gate = threading.Event()
        self.held = threading.Event()
        self.worker_calls = 0
        self.order: list[str] = []
        self.executors: list[Executor] = []
        real = golden_module.reference_signature

        def reference_signature(vector: Vector) -> bytes:
            if not threading.current_thread().name.startswith("golden-worker"):
                self.order.append("golden in line")
                return real(vector)
            self.worker_calls += 1
            if self.worker_calls > free:
                self.held.set()
                self.gate.wait(60)
            self.order.append("golden in worker")
            return real(vector)

        def executor(workers: int) -> Executor:
            self.executors.append(ThreadPoolExecutor(workers, thread_name_prefix="golden-worker"))
            return self.executors[-1]

        monkeypatch.setattr(golden_module, "reference_signature", reference_signature)
        monkeypatch.setattr(golden_pool, "make_executor", executor)

    def release(self) -> None:
        self.gate.set()
        for executor in self.executors:
            executor.shutdown(wait=True)


def chip_waiting_for_the_held_batch(monkeypatch: pytest.MonkeyPatch, gated: Gated):
    """A chip factory whose chip starts once the workers' first batch is back and the next one is
    held in a worker: the step then waits on that worker for vector BATCH + 1, instead of
    computing goldens in line, which it does, rightly, while it runs ahead of the feeder or
    before any batch came back (on a loaded machine, or by the scheduler's whim)."""
    delivered = threading.Event()
    real_computed = golden_pool.GoldenPipeline._computed

    def computed(self, batch, done) -> None:
        real_computed(self, batch, done)
        delivered.set()

    monkeypatch.setattr(golden_pool.GoldenPipeline, "_computed", computed)
    return lambda: ChipThatStartsWhen(lambda: delivered.is_set() and gated.held.is_set())


def run_in_thread(step: RunVectorsStep, ctx: StepContext) -> tuple[threading.Thread, dict]:
    ended: dict[str, object] = {}

    def target() -> None:
        try:
            ended["outcome"] = step.run(ctx)
        except BaseException as error:
            ended["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, ended


def test_abort_while_a_golden_is_computed_ends_the_step_at_once_and_drops_queued_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    gated = Gated(monkeypatch, free=golden_pool.BATCH)  # the first batch comes back: workers are up
    ctx, events = context(VectorLibrary([], DirectoryCache(tmp_path)), chip_waiting_for_the_held_batch(monkeypatch, gated))
    thread, ended = run_in_thread(random_step(5 * golden_pool.BATCH), ctx)
    try:
        wait_until(gated.held.is_set, BOUND_S, "a golden being computed")
        ctx.control.abort("aborted by the operator")
        thread.join(BOUND_S)
        still_running = thread.is_alive()
    finally:
        gated.release()
    assert not still_running, "the step kept waiting for its golden after the abort"
    assert isinstance(ended.get("error"), RunAborted)
    assert len([event for event in events if isinstance(event, VectorResult)]) <= golden_pool.BATCH
    # the batches done and under way finished; the queued ones never ran
    assert gated.worker_calls <= 2 * golden_pool.BATCH


def test_a_golden_that_cannot_be_computed_is_a_step_error_naming_the_vector(tmp_path: Path) -> None:
    """Through real worker processes: the good vector runs, the bad one stops the step."""
    good = program(exit_with(0), name="good")
    bad = program(exit_with(3), name="bad")
    ctx, events = context(Suite([good, bad], DirectoryCache(tmp_path)))
    with pytest.raises(GoldenError, match="vector 'bad' fails its own check 3 on the reference core"):
        RunVectorsStep(RunVectors(step="run_vectors", suite="given")).run(ctx)
    assert [event.vector_name for event in events if isinstance(event, VectorResult)] == ["good"]


def test_the_chip_runs_a_vector_before_its_golden_is_needed_and_starting_workers_cost_no_wait(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Workers that have not answered yet (here: never) are not waited for: the step computes
    the goldens it needs itself, each after the chip has run its vector."""
    gated = Gated(monkeypatch)

    class Dut(ReferenceDut):
        def run(self, entry: int, max_steps: int, *, tohost: int | None = None):  # type: ignore[override]
            gated.order.append("chip")
            return super().run(entry, max_steps, tohost=tohost)

    ctx, _ = context(VectorLibrary([], DirectoryCache(tmp_path)))
    ctx.dut_factory = Dut
    try:
        outcome = random_step(3).run(ctx)
    finally:
        gated.release()
    assert outcome.passed
    in_line = [entry for entry, _ in groupby(e for e in gated.order if e != "golden in worker")]
    assert in_line == ["chip", "golden in line"] * 3  # each golden after the chip ran its vector


def test_cached_goldens_need_no_worker_and_give_the_same_verdicts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    library = VectorLibrary([], DirectoryCache(tmp_path))
    ctx, first = context(library)
    assert random_step(4).run(ctx).passed

    def no_worker(workers: int) -> Executor:
        raise AssertionError("a worker was started although every golden was cached")

    monkeypatch.setattr(golden_pool, "make_executor", no_worker)
    ctx, second = context(library)
    assert random_step(4).run(ctx).passed
    verdicts = [[(e.vector_name, e.passed, e.expected) for e in events if isinstance(e, VectorResult)]
                for events in (first, second)]
    assert verdicts[0] == verdicts[1] and len(verdicts[0]) == 4


def test_a_golden_that_takes_too_long_is_an_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    gated = Gated(monkeypatch, free=golden_pool.BATCH)
    monkeypatch.setattr(golden_pool, "WAIT_BASE_S", 0.5)
    ctx, _ = context(VectorLibrary([], DirectoryCache(tmp_path)), chip_waiting_for_the_held_batch(monkeypatch, gated))
    try:
        with pytest.raises(GoldenError, match="was not computed within 1 s"):
            random_step(3 * golden_pool.BATCH).run(ctx)
    finally:
        gated.release()


def test_workers_that_cannot_start_leave_the_goldens_to_the_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """Inside the terminal UI a spawned process can fail to start ("bad value(s) in
    fds_to_keep": the UI replaces stderr); the step then computes every golden itself, says so
    in the log, and the verdicts are the same."""
    def cannot_start(workers: int) -> Executor:
        raise ValueError("bad value(s) in fds_to_keep")

    monkeypatch.setattr(golden_pool, "make_executor", cannot_start)
    ctx, events = context(VectorLibrary([], DirectoryCache(tmp_path)))
    assert random_step(2 * golden_pool.BATCH + 1).run(ctx).passed
    results = [event for event in events if isinstance(event, VectorResult)]
    assert len(results) == 2 * golden_pool.BATCH + 1 and all(result.passed for result in results)
    logs = [event.text for event in events if isinstance(event, Log)]
    assert any("computed in line" in text and "fds_to_keep" in text for text in logs), logs


def test_a_worker_that_dies_leaves_the_goldens_to_the_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    class Dying(ThreadPoolExecutor):
        def submit(self, *args: object, **kwargs: object):  # type: ignore[override]
            return super().submit(_die)

    monkeypatch.setattr(golden_pool, "make_executor", lambda workers: Dying(workers))
    ctx, events = context(VectorLibrary([], DirectoryCache(tmp_path)))
    assert random_step(golden_pool.BATCH + 1).run(ctx).passed
    logs = [event.text for event in events if isinstance(event, Log)]
    assert any("worker died" in text for text in logs), logs


def _die() -> None:
    raise RuntimeError("killed by the OOM killer")


class MadeAfterTheFirstRan:
    """A suite whose vectors after the first can only be made once the chip has run the first:
    a step that made (or looked up) its whole suite before running any vector never starts."""

    def __init__(self, vectors: list[Vector], first_ran: threading.Event) -> None:
        self._vectors = vectors
        self._first_ran = first_ran

    def __len__(self) -> int:
        return len(self._vectors)

    def __getitem__(self, index: int) -> Vector:
        if index >= len(self._vectors):
            raise IndexError(index)
        if index > 0:
            assert self._first_ran.wait(BOUND_S), "vector 2 was asked for before vector 1 ran"
        return self._vectors[index]


def test_the_step_runs_its_first_vector_before_the_rest_of_the_suite_is_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    from bringup.vectors.library import RandomSuite

    gated = Gated(monkeypatch)
    gated.gate.set()  # workers compute freely
    first_ran = threading.Event()
    suite = MadeAfterTheFirstRan(list(RandomSuite(seed=4, count=3, length=5)), first_ran)
    ctx, events = context(Suite(suite, DirectoryCache(tmp_path)))  # type: ignore[arg-type]

    def publish(event: object) -> None:
        events.append(event)
        if isinstance(event, VectorResult):
            first_ran.set()

    ctx.publish = publish
    try:
        outcome = RunVectorsStep(RunVectors(step="run_vectors", suite="given")).run(ctx)
    finally:
        gated.release()
    assert outcome.passed, outcome.message
    assert [e.vector_name for e in events if isinstance(e, VectorResult)] == [
        "random-4-0", "random-4-1", "random-4-2"]
