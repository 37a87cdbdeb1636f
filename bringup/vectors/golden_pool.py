"""Goldens computed in worker processes while the chip runs the vectors before them.

    with GoldenPipeline(vectors, cache, check=control.check) as goldens:
        for vector in vectors:
            ...run it on the chip...
            golden = goldens.get(vector)   # from the cache, or the worker's (a bounded wait)

The reference core is pure Python and holds the GIL while it runs, so a thread would take its
time from the sequencer, the event bus, the recorder and the UART exchanges; worker processes do
not (`benchmarks/vectors_throughput.py --golden-worker thread` measures the difference).

A feeder thread walks the vectors (an iterable, walked once, lazily: a random suite's programs
are made here, ahead of the chip), looks the goldens up in the cache (database queries, files)
batch by batch, in vector order, and submits each batch the cache lacks, so the first batch
reaches a worker after a few lookups and the other lookups also happen while the chip runs. A
vector the step asks for before the feeder has reached it is computed by the step. Until a worker has
returned its first batch (a spawned worker starts a fresh interpreter: about a second), the
step computes the goldens it needs itself rather than wait; later, a worker may compute one of
those again and the first answer wins. Workers that cannot start (inside the terminal UI a
spawn can fail) or die leave every golden still missing to the step (``worker_error`` says why).

Every wait is bounded: ``check()`` (the run's abort/fault check) is called every ``POLL_S``, and
a golden that takes longer than ``wait_limit_s`` is an error. (A golden computed in line is not
interruptible; its vector's step budget bounds it.) Leaving the ``with`` block, however it is
left, shuts the pool down without waiting: queued batches are cancelled and a batch being
computed finishes in the background (the worker then exits). A vector whose golden cannot be
computed raises ``GoldenError`` naming it and the fix, when the step asks for that golden.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from types import TracebackType

from bringup.messages import first_line
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
PARENT_CHECK_S = 0.5  # how late a worker notices that its run's process is gone


def make_executor(workers: int) -> Executor:
    """Worker processes started fresh ("spawn"): forking a process with live threads (the bus,
    the recorder, the rail monitor) can copy a lock in its locked state. Each worker exits when
    the run's process is gone (see `_exit_with_parent`)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))


def _exit_with_parent(parent: int) -> None:
    """In a worker: end this process once ``parent`` (the run) is gone. A run killed outright
    (SIGKILL, the OOM killer) cannot shut its pool down, and an idle worker never notices: it
    holds its own end of the task pipe, so it would wait for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)  # nothing to save: a golden is only of use to the run that asked for it

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def default_workers() -> int:
    """Half the cores, at least one, at most four: the chip's host side needs the rest."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def wait_limit_s(batch: Sequence[Vector]) -> float:
    """The longest a batch may take: each golden runs the core on two RAM fills."""
    return WAIT_BASE_S + sum(2 * vector.max_steps for vector in batch) / MIN_STEPS_PER_S


class GoldenPipeline:
    def __init__(self, vectors: Iterable[Vector], cache: GoldenCache, *,
                 check: Callable[[], None] = lambda: None, workers: int | None = None,
                 batch: int = BATCH) -> None:
        self._cache = cache
        self._check = check
        self._workers = workers or default_workers()
        self._batch = batch
        # One future per distinct golden: its signature, or GoldenError's message. The feeder
        # adds them as it walks the vectors; get() adds one the feeder has not reached yet.
        self._goldens: dict[str, Future[bytes | str]] = {}
        self._cache_failure: str | None = None  # every golden not yet settled fails with it
        self._lock = threading.Lock()  # orders submissions against close(), and settlements
        self._delivered = threading.Event()  # a worker has returned a batch: it is up
        self._closed = False
        self._executor: Executor | None = None
        #: Why the workers failed (then the step computes every golden itself), or None.
        self.worker_error: str | None = None
        # Cache lookups (database queries, files) run beside the chip too, batch by batch, so
        # the first batch goes to a worker after a handful of lookups, not after all of them.
        self._feeder = threading.Thread(target=self._feed, args=(vectors,), daemon=True,
                                        name="golden feeder")
        self._feeder.start()

    # ------------------------------------------------------------------ feeder thread
    def _feed(self, vectors: Iterable[Vector]) -> None:
        batch: list[Vector] = []
        try:
            for vector in vectors:
                if self._closed:
                    return
                if self._claim(vector):
                    batch.append(vector)
                if len(batch) == self._batch:
                    if not self._feed_batch(batch):
                        return
                    batch = []
        except Exception as error:  # the vectors could not be made: the step meets it too
            self.worker_error = f"the golden feeder stopped ({first_line(error)})"
            return
        if batch:
            self._feed_batch(batch)

    def _claim(self, vector: Vector) -> bool:
        """True if this golden is new (the feeder's to find); False if already claimed."""
        key = golden_key(vector)
        with self._lock:
            if key in self._goldens:
                return False
            self._goldens[key] = Future()
            return True

    def _feed_batch(self, batch: list[Vector]) -> bool:
        """Look a batch up and submit what the cache lacks; False when feeding must stop."""
        try:
            missing = [vector for vector in batch if not self._from_cache(vector)]
        except Exception as error:  # a cache that fails: every golden left says why
            self._cache_failure = f"the golden cache failed: {first_line(error)}"
            with self._lock:
                waiting = [key for key, future in self._goldens.items() if not future.done()]
            for key in waiting:
                self._settle_key(key, self._cache_failure)
            return False
        try:
            if missing and not self._submit(missing):
                return False
        except Exception as error:  # e.g. no process can be spawned from a terminal UI
            self.worker_error = f"the golden workers could not start ({first_line(error)})"
            return False
        return True

    def _from_cache(self, vector: Vector) -> bool:
        cached = cached_golden(vector, self._cache)
        if cached is not None:
            self._settle(vector, cached)
        return cached is not None

    def _submit(self, batch: list[Vector]) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self._executor is None:
                self._executor = make_executor(self._workers)
            future = self._executor.submit(reference_signatures, batch)
        future.add_done_callback(lambda done: self._computed(batch, done))
        return True

    def _computed(self, batch: list[Vector], done: Future[list[bytes | str]]) -> None:
        """In the executor's thread: hand each result to its waiter, cache the good ones."""
        if done.cancelled():
            return
        self._delivered.set()
        error = done.exception()
        if error is not None:  # the step computes this batch, and the rest, itself
            self.worker_error = self.worker_error or f"a golden worker died ({first_line(error)})"
            return
        for vector, result in zip(batch, done.result(), strict=True):
            if isinstance(result, bytes):
                self._cache.put(golden_key(vector), result)
            self._settle(vector, result)

    def _settle(self, vector: Vector, result: bytes | str) -> None:
        self._settle_key(golden_key(vector), result)

    def _settle_key(self, key: str, result: bytes | str) -> None:
        with self._lock:
            future = self._goldens[key]
            if not future.done():
                future.set_result(result)

    # ------------------------------------------------------------------ the step's side
    def get(self, vector: Vector) -> bytes:
        """``vector``'s golden signature; waits (bounded, abortable) for the worker if need be."""
        key = golden_key(vector)
        with self._lock:
            ahead_of_feeder = key not in self._goldens
            future = self._goldens.setdefault(key, Future())
        if not future.done() and self._cache_failure is not None:
            self._settle_key(key, self._cache_failure)
        if not future.done() and (ahead_of_feeder or self.worker_error or not self._delivered.is_set()):
            # The workers are still starting (a fresh interpreter: about a second), or the feeder
            # has not reached this vector: rather than wait, compute this one here. A worker
            # may compute it again; the first answer wins.
            (result,) = reference_signatures([vector])
            if isinstance(result, bytes):
                self._cache.put(key, result)
            self._settle(vector, result)
        result = self._wait(future, vector)
        if isinstance(result, str):
            raise GoldenError(result)
        return result

    def _wait(self, future: Future[bytes | str], vector: Vector) -> bytes | str:
        limit = wait_limit_s([vector] * self._batch)
        waited = 0.0
        while True:
            self._check()
            try:
                return future.result(timeout=POLL_S)
            except FutureTimeout:
                waited += POLL_S
            if waited >= limit:
                raise GoldenError(
                    f"the golden of vector '{vector.name}' was not computed within {limit:.0f} s "
                    "— the host is overloaded; compute the suite's goldens first with "
                    "`bringup vectors golden`")

    def close(self) -> None:
        """Shut the pool down now: queued batches are cancelled, nothing is waited for."""
        with self._lock:
            self._closed = True
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> GoldenPipeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
