"""Faults a test can inject into one simulated instrument's SCPI server."""

from __future__ import annotations

import threading
from collections.abc import Callable


class InstrumentFaults:
    """The misbehaviour of one instrument, switched on and off from tests.

    `delay(s)` holds every reply back by `s` seconds; `stop_answering()` swallows every command
    (the instrument looks hung); `scpi_error(code, text)` queues an error after the next setting
    command; `drop_connection()` closes the open connections now; `clear()` ends them all.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cleared = threading.Event()
        self.reply_delay_s = 0.0
        self.silent = False
        self._pending_errors: list[tuple[int, str]] = []
        self._drop_hook: Callable[[], None] | None = None

    def delay(self, seconds: float) -> InstrumentFaults:
        with self._lock:
            self.reply_delay_s = float(seconds)
            self._cleared.clear()
        return self

    def stop_answering(self) -> InstrumentFaults:
        with self._lock:
            self.silent = True
        return self

    def scpi_error(self, code: int, text: str) -> InstrumentFaults:
        with self._lock:
            self._pending_errors.append((code, text))
        return self

    def drop_connection(self) -> InstrumentFaults:
        if self._drop_hook is not None:
            self._drop_hook()
        return self

    def clear(self) -> InstrumentFaults:
        with self._lock:
            self.reply_delay_s = 0.0
            self.silent = False
            self._pending_errors.clear()
            self._cleared.set()
        return self

    # -- used by the server --------------------------------------------------------------

    def attach_drop_hook(self, hook: Callable[[], None]) -> None:
        self._drop_hook = hook

    def wait_delay(self) -> None:
        """Sleep out the injected delay; `clear()` (or server stop) cuts it short."""
        if self.reply_delay_s > 0:
            self._cleared.wait(self.reply_delay_s)

    def interrupt_delay(self) -> None:
        self._cleared.set()

    def take_pending_error(self) -> tuple[int, str] | None:
        with self._lock:
            return self._pending_errors.pop(0) if self._pending_errors else None
