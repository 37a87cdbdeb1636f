"""Goldens computed in worker processes while the chip runs the vectors before them.

    with GoldenPipeline(vectors, cache, check=control.check) as goldens:
        for vector in vectors:
            ...run it on the chip...
            golden = goldens.get(vector)   # from the cache, or the worker's (a bounded wait)

The reference core is pure Python and holds the GIL while it runs, so a thread would take its
time from the sequencer, the event bus and the recorder; worker processes do not (measured in
benchmarks/vectors_throughput.py). Goldens the cache already holds are read first; the others go
to the pool in batches, in vector order, so the first ones are ready soonest.

Every wait is bounded: ``check()`` (the run's abort/fault check) is called every ``POLL_S``, and
a batch that takes longer than ``wait_limit_s`` is an error. Leaving the ``with`` block, however
it is left, shuts the pool down without waiting: queued batches are cancelled and a batch being
computed finishes in the background (the worker then exits). A vector whose golden cannot be
computed raises ``GoldenError`` naming it and the fix.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from bringup.vectors.golden import (
    GoldenCache,
    GoldenError,
    cached_golden,
    golden_key,
    reference_signatures,
)
from bringup.vectors.model import Vector

BATCH = 8  # vectors per request: small, so the first goldens come early and an abort strands little
POLL_S = 0.1  # how late an abort is noticed while waiting for a golden
WAIT_BASE_S = 60.0  # a worker's start (a fresh interpreter importing the core) on a loaded machine
MIN_STEPS_PER_S = 100_000  # the reference core interprets at least this fast, even cold


def make_executor(workers: int) -> Executor:
    """Worker processes started fresh ("spawn"): forking a process with live threads (the bus,
    the recorder, the rail monitor) can copy a lock in its locked state."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def default_workers() -> int:
    """Half the cores, at least one, at most four: the chip's host side needs the rest."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def wait_limit_s(batch: Sequence[Vector]) -> float:
    """The longest a batch may take: each golden runs the core on two RAM fills."""
    return WAIT_BASE_S + sum(2 * vector.max_steps for vector in batch) / MIN_STEPS_PER_S


class GoldenPipeline:
    def __init__(self, vectors: Sequence[Vector], cache: GoldenCache, *,
                 check: Callable[[], None] = lambda: None, workers: int | None = None,
                 batch: int = BATCH) -> None:
        self._cache = cache
        self._check = check
        self._ready: dict[str, bytes] = {}
        self._failed: dict[str, str] = {}  # key -> GoldenError message, raised when asked for
        self._pending: dict[str, tuple[Future[list[bytes | str]], list[Vector]]] = {}
        self._executor: Executor | None = None
        missing: dict[str, Vector] = {}
        for vector in vectors:
            key = golden_key(vector)
            if key in self._ready or key in missing:
                continue
            cached = cached_golden(vector, cache)
            if cached is None:
                missing[key] = vector
            else:
                self._ready[key] = cached
        if missing:
            self._submit(list(missing.values()), workers or default_workers(), batch)

    def _submit(self, vectors: list[Vector], workers: int, size: int) -> None:
        self._executor = make_executor(workers)
        for start in range(0, len(vectors), size):
            batch = vectors[start:start + size]
            future = self._executor.submit(reference_signatures, batch)
            for vector in batch:
                self._pending[golden_key(vector)] = (future, batch)

    def get(self, vector: Vector) -> bytes:
        """``vector``'s golden signature; waits (bounded, abortable) for the worker if need be."""
        key = golden_key(vector)
        if key not in self._ready and key not in self._failed:
            if key not in self._pending:
                raise KeyError(f"vector '{vector.name}' was not given to this GoldenPipeline")
            future, batch = self._pending[key]
            self._collect(batch, self._wait(future, batch))
        if key in self._failed:
            raise GoldenError(self._failed[key])
        return self._ready[key]

    def _wait(self, future: Future[list[bytes | str]], batch: list[Vector]) -> list[bytes | str]:
        limit = wait_limit_s(batch)
        waited = 0.0
        while True:
            self._check()
            try:
                return future.result(timeout=POLL_S)
            except FutureTimeout:
                waited += POLL_S
            except BrokenProcessPool as error:
                raise GoldenError(
                    f"the golden worker process died ({error}) while computing vector "
                    f"'{batch[0].name}' and the {len(batch) - 1} after it — check the host's "
                    "memory, or compute the suite's goldens first with `bringup vectors golden`"
                ) from None
            if waited >= limit:
                raise GoldenError(
                    f"the golden of vector '{batch[0].name}' (and the {len(batch) - 1} after it) "
                    f"was not computed within {limit:.0f} s — the host is overloaded; compute "
                    "the suite's goldens first with `bringup vectors golden`")

    def _collect(self, batch: list[Vector], results: list[bytes | str]) -> None:
        for vector, result in zip(batch, results, strict=True):
            key = golden_key(vector)
            self._pending.pop(key, None)
            if isinstance(result, str):
                self._failed[key] = result
                continue
            self._cache.put(key, result)
            self._ready[key] = result

    def close(self) -> None:
        """Shut the pool down now: queued batches are cancelled, nothing is waited for."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> GoldenPipeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
