"""SerialConsole: the chip's UART over pyserial, with `expect` and a timestamped line log.

Reads take whatever is waiting in one call and regex-search a text buffer, so a line protocol at
high rate costs a few system calls per exchange, not a Python loop per byte. Waiting uses
`select` on the port's file descriptor (POSIX: real serial ports and ptys), so `expect` sleeps
in the kernel until data arrives or its deadline passes, and never blocks past the deadline.

Not thread-safe: one owner (a sequencer step, a monitor client) drives a console at a time.
"""

from __future__ import annotations

import codecs
import re
import select
import time
from collections import deque
from collections.abc import Callable
from typing import Literal, NamedTuple, Self

import serial

from instruments.errors import ConsoleError, ConsoleTimeout

Direction = Literal["rx", "tx"]
_READ_CHUNK = 65536
_TAIL_CHARS = 200
# A babbling device must not grow the unconsumed buffer without bound; expect patterns span
# a line or a prompt, far less than this.
_MAX_BUFFER_CHARS = 1_000_000


class LoggedLine(NamedTuple):
    """One line of console traffic: wall-clock time, direction, text without line ending."""

    time: float
    direction: Direction
    text: str


class ConsoleMatch(NamedTuple):
    """What `expect` found: the match and the text received before it."""

    match: re.Match[str]
    before: str


class SerialConsole:
    """A serial console; `port` is a device path (`/dev/ttyUSB0`, a pty) or a pyserial URL."""

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        *,
        name: str = "console",
        newline: str = "\n",
        log_lines: int = 10_000,
        on_line: Callable[[LoggedLine], None] | None = None,
        write_timeout_s: float = 2.0,
    ) -> None:
        self.port_name = port
        self.name = f"{name} ({port})"
        self.newline = newline
        self.on_line = on_line
        self.log: deque[LoggedLine] = deque(maxlen=log_lines)
        self._buffer = ""  # received, not yet consumed by expect
        self._partial_line = ""  # received after the last newline, for the line log
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            self._serial = serial.serial_for_url(
                port, baudrate=baudrate, timeout=0, write_timeout=write_timeout_s
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ConsoleError(
                f"{self.name}: cannot open the serial port ({exc}); check the port path in the "
                "station file and that no other program holds it",
                instrument=self.name,
            ) from exc
        self._fd = self._serial.fileno()

    # --- sending ----------------------------------------------------------------------------

    def write_line(self, text: str) -> None:
        """Send `text` and the line ending."""
        try:
            self._serial.write((text + self.newline).encode())
        except (serial.SerialException, OSError) as exc:
            raise ConsoleError(
                f"{self.name}: writing {text!r} failed ({exc}); check the cable and that the "
                "chip's UART is not stuck",
                instrument=self.name,
                command=text,
            ) from exc
        self._log("tx", text)

    # --- receiving --------------------------------------------------------------------------

    def expect(self, pattern: str | re.Pattern[str], timeout: float) -> ConsoleMatch:
        """Wait up to `timeout` seconds for `pattern` in the received text; consume through it.

        Raises `ConsoleTimeout` naming the port, the pattern and the tail of what arrived.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self._buffer)
            if match is not None:
                before = self._buffer[: match.start()]
                self._buffer = self._buffer[match.end() :]
                return ConsoleMatch(match, before)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConsoleTimeout(self.name, regex.pattern, timeout, self._buffer[-_TAIL_CHARS:])
            self._receive(remaining)

    def exchange(self, line: str, until: str | re.Pattern[str], timeout: float) -> ConsoleMatch:
        """Send `line`, then expect `until` (typically the prompt after the command's output)."""
        self.write_line(line)
        return self.expect(until, timeout)

    def drain(self) -> str:
        """Take and return everything received so far, waiting for nothing."""
        self._receive(0)
        text, self._buffer = self._buffer, ""
        return text

    def pending(self) -> str:
        """Received text not yet consumed by `expect`, without consuming it."""
        return self._buffer

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._serial.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SerialConsole({self.name!r})"

    # --- internals --------------------------------------------------------------------------

    def _receive(self, wait_s: float) -> None:
        """Wait up to `wait_s` for input, then take everything waiting in one read."""
        try:
            readable, _, _ = select.select([self._fd], [], [], wait_s)
            if not readable:
                return
            data = self._serial.read(_READ_CHUNK)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ConsoleError(
                f"{self.name}: reading failed ({exc}); the device was unplugged or the port closed",
                instrument=self.name,
            ) from exc
        text = self._decoder.decode(data)
        self._buffer += text
        if len(self._buffer) > _MAX_BUFFER_CHARS:
            self._buffer = self._buffer[-_MAX_BUFFER_CHARS:]
        self._split_lines(text)

    def _split_lines(self, text: str) -> None:
        if "\n" not in text:
            self._partial_line += text
            return
        *lines, self._partial_line = (self._partial_line + text).split("\n")
        for line in lines:
            self._log("rx", line.rstrip("\r"))

    def _log(self, direction: Direction, text: str) -> None:
        entry = LoggedLine(time.time(), direction, text)
        self.log.append(entry)
        if self.on_line is not None:
            self.on_line(entry)
