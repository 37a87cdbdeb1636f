"""run_vectors: a suite on the chip, each result compared with the reference core's.

Goldens the cache lacks are computed by worker processes while the chip runs the vectors before
them (`bringup.vectors.golden_pool`); a vector waits for its golden only after the chip has run
it, and that wait is bounded and ends at once on abort. Between vectors the run may pause or
abort; on resume, vectors already recorded for this step (by content hash and repeat) are
skipped, so none is run twice into the record, and their goldens are not computed.

The suite is walked lazily, twice, in the same order: by the golden feeder thread, which runs
ahead (and so makes a random suite's programs while the chip runs the earlier ones), and by
the step, vector after vector.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from bringup.events import VectorResult
from bringup.steps.base import Step, StepContext, StepOutcome


class RunVectorsStep(Step):
    kind = "run_vectors"

    def run(self, ctx: StepContext) -> StepOutcome:
        from bringup.vectors.golden import golden_key
        from bringup.vectors.golden_pool import GoldenPipeline

        spec = self.spec
        library = ctx.vector_source
        vectors = library.vectors(spec.suite, seed=spec.seed, count=spec.count, length=spec.length)
        ran = 0
        with GoldenPipeline((vector for _, vector in self._todo(ctx, vectors)), library.cache,
                            check=ctx.control.check) as goldens:
            if spec.clock_mhz is not None:
                ctx.core_mhz = ctx.dut.set_clock(spec.clock_mhz)
            elif ctx.core_mhz is None:
                ctx.core_mhz = ctx.dut.clock_mhz()
            failed = 0
            told = False
            for repeat, vector in self._todo(ctx, vectors):
                ran += 1
                ctx.control.checkpoint()
                start = time.perf_counter()
                outcome = self._run_with_retries(ctx, vector, lambda vector=vector: goldens.get(vector))
                if goldens.worker_error and not told:
                    told = True
                    ctx.log(f"{goldens.worker_error}: the remaining goldens are computed in line, "
                            "between vectors", level="warning")
                comparison = outcome.comparison
                failed += not outcome.passed
                ctx.emit(VectorResult(
                    run_id=ctx.run_id, step_index=ctx.step_index, vector_name=vector.name,
                    content_hash=vector.content_hash, passed=outcome.passed,
                    expected=comparison.expected, actual=comparison.actual,
                    first_mismatch_addr=comparison.first_mismatch_address,
                    flipped_bits=comparison.flipped_bits, repeat=repeat, conditions=ctx.conditions(),
                    duration_s=time.perf_counter() - start, golden_key=golden_key(vector),
                ))  # fmt: skip
        skipped = len(vectors) * spec.repeat - ran
        resumed = f" ({skipped} already recorded)" if skipped else ""
        return StepOutcome(failed == 0, f"{ran - failed}/{ran} vectors passed{resumed}")

    def _todo(self, ctx: StepContext, vectors: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """(repeat, vector) in run order, without those recorded before a resume."""
        for repeat in range(self.spec.repeat):
            for vector in vectors:
                if (ctx.step_index, vector.content_hash, repeat) not in ctx.done_vectors:
                    yield repeat, vector

    def _run_with_retries(self, ctx: StepContext, vector: Any, golden: Any) -> Any:
        """run_one; a garbled reply from the chip is retried from a reset `retries` times, then
        raised, which fails the step as any chip fault does."""
        from bringup.dut.monitor import ChipProtocolError
        from bringup.vectors.runner import run_one

        for attempt in range(self.spec.retries + 1):
            try:
                return run_one(ctx.dut, vector, golden, clock_mhz=ctx.core_mhz)
            except ChipProtocolError as exc:
                if attempt == self.spec.retries:
                    raise
                ctx.log(f"vector {vector.name}: {exc}; retrying from a reset "
                        f"({attempt + 1} of {self.spec.retries})", level="warning")
                ctx.control.checkpoint()
                resync = getattr(ctx.dut, "resync", None)
                if resync is not None:
                    resync()
        raise AssertionError("unreachable: the last attempt returns or raises")
