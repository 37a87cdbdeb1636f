"""What every simulated SCPI instrument shares: the error queue, the common `*` commands, dispatch."""

from __future__ import annotations

import threading
from collections import deque

from bringup.simlab.scpi_parse import (
    ERROR_TEXT,
    Command,
    CommandTable,
    ScpiError,
    parse_command,
    split_commands,
)

ERROR_QUEUE_DEPTH = 20


class ErrorQueue:
    """SCPI error/event queue: oldest first; when full the newest entry becomes -350."""

    def __init__(self) -> None:
        self._entries: deque[tuple[int, str]] = deque()
        self._lock = threading.Lock()

    def push(self, code: int, text: str | None = None) -> None:
        with self._lock:
            entry = (code, text or ERROR_TEXT.get(code, "Error"))
            if len(self._entries) >= ERROR_QUEUE_DEPTH:
                self._entries[-1] = (-350, ERROR_TEXT[-350])
            else:
                self._entries.append(entry)

    def pop(self) -> str:
        with self._lock:
            code, text = self._entries.popleft() if self._entries else (0, "No error")
        return f"{code:+d},\"{text}\""

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class ScpiInstrument:
    """Base of the simulated instruments: subclasses fill `table` and answer `idn`."""

    idn = "bringup,simulated,0,0"
    has_error_queue = True

    def __init__(self) -> None:
        self.errors = ErrorQueue()
        self.table = CommandTable()
        self.lock = threading.RLock()
        self.table.add("*IDN?", lambda cmd: self.idn)
        self.table.add("*RST", self._reset_command)
        self.table.add("*CLS", self._clear_status)
        self.table.add("*OPC?", lambda cmd: "1")
        if self.has_error_queue:
            self.table.add("SYSTem:ERRor:[NEXT]?", lambda cmd: self.errors.pop())

    def execute(self, line: str) -> str | None:
        """Run one received line; the reply line for its queries, or None if it had none."""
        replies = []
        with self.lock:
            for text in split_commands(line):
                reply = self._execute_one(text)
                if reply is not None:
                    replies.append(reply)
        return ";".join(replies) if replies else None

    def _execute_one(self, text: str) -> str | None:
        header, params = parse_command(text)
        found = self.table.lookup(header)
        if found is None:
            self.reject(ScpiError(-113, f"unknown header {header!r}"))
            return None
        handler, suffixes = found
        command = Command(header, header.endswith("?"), params, suffixes)
        try:
            return handler(command)
        except ScpiError as error:
            self.reject(error)
            return None

    def reject(self, error: ScpiError) -> None:
        """Record a rejected command; instruments without a SCPI queue override this."""
        self.errors.push(error.code)

    def reset(self) -> None:
        """Return to the power-on state (`*RST`)."""

    def _reset_command(self, command: Command) -> None:
        self.reset()

    def _clear_status(self, command: Command) -> None:
        self.errors.clear()
