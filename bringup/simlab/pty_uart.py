"""The chip's UART as a pseudo-terminal: pyserial opens the slave path like a USB-serial port."""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import tty
from collections.abc import Callable

MAX_PENDING_OUTPUT = 256 * 1024  # like a wire with nobody listening: the oldest bytes are lost
MAX_INPUT_LINE = 4096


class PtyUart:
    """Runs `on_line(text)` on its own thread for each received line; `send()` from anywhere.

    The master side is non-blocking and output is buffered, so a host that never reads can
    not stall the chip; `call_soon(fn)` runs `fn` on the UART thread (boot, reset).
    """

    def __init__(self, on_line: Callable[[str], None], name: str = "simlab-uart") -> None:
        self._on_line = on_line
        self._name = name
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._lock = threading.Lock()
        self._output = bytearray()
        self._calls: list[Callable[[], None]] = []
        self._input = bytearray()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def send(self, data: bytes | str) -> None:
        payload = data.encode("ascii", errors="replace") if isinstance(data, str) else data
        with self._lock:
            self._output += payload
            overflow = len(self._output) - MAX_PENDING_OUTPUT
            if overflow > 0:
                del self._output[:overflow]
        self._wake()

    def call_soon(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self._calls.append(fn)
        self._wake()

    def discard_input(self) -> None:
        """Forget a partly received line (the chip was reset in the middle of it)."""
        self._input.clear()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"\0")

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._master, selectors.EVENT_READ, "pty")
        selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        writing = False
        while not self._stopping.is_set():
            want_write = bool(self._output)
            if want_write != writing:
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want_write else 0)
                selector.modify(self._master, events, "pty")
                writing = want_write
            for key, mask in selector.select(timeout=0.5):
                if key.data == "wake":
                    self._drain_wake()
                    self._run_calls()
                    continue
                if mask & selectors.EVENT_READ:
                    self._receive()
                if mask & selectors.EVENT_WRITE:
                    self._transmit()
            self._transmit()
        selector.close()

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._wake_read, 4096):
                pass

    def _run_calls(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for fn in calls:
            fn()

    def _receive(self) -> None:
        try:
            chunk = os.read(self._master, 65536)
        except (BlockingIOError, OSError):
            return  # EIO while no one holds the port open is normal for a pty
        self._input += chunk
        while (end := self._input.find(b"\n")) >= 0:
            line = bytes(self._input[:end]).rstrip(b"\r")
            del self._input[: end + 1]
            self._on_line(line.decode("ascii", errors="replace"))
        if len(self._input) > MAX_INPUT_LINE:
            self._on_line(self._input.decode("ascii", errors="replace"))  # lets firmware say 413
            self._input.clear()

    def _transmit(self) -> None:
        with self._lock:
            if not self._output:
                return
            try:
                written = os.write(self._master, self._output)
            except (BlockingIOError, OSError):
                return
            del self._output[:written]
