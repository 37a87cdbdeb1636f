"""MonitorDut: a chip driven over its UART monitor (docs/monitor-protocol.md).

Every command is one line; the reply is data lines, one `OK ...`/`ERR code message` status line
and the prompt. One regex finds the status line and the prompt after it, so an exchange is one
write and (usually) one read.
"""

from __future__ import annotations

import re
import struct
import time
from typing import Any, NoReturn

from bringup.dut.base import DutError, DutTimeout, RunOutcome

WORDS_PER_LOAD = 64
WORDS_PER_DUMP = 1024
_REPLY = re.compile(r"(?:^|\n)(?:> )?(OK|ERR)(?: ([^\r\n]*))?\r?\n> ")
_BANNER = re.compile(r"BRINGUP-MON [^\r\n]*\r?\n> ")
# RESET answers OK, then reboots: the banner and a fresh prompt follow (no prompt after the OK).
_RESET_REPLY = re.compile(r"(?:^|\n)(?:> )?(?:OK\r?\nBRINGUP-MON [^\r\n]*|ERR ([^\r\n]*))\r?\n> ")
_STATUSES = {"exit", "timeout", "trap"}
# The slowest chip (or simulator) we allow for before calling a run hung: instructions per second.
SLOWEST_IPS = 1_000_000


# No line of the protocol comes near this (a DUMP line is 8 words); longer is noise on the UART.
MAX_REPLY_LINE = 1024
_SHOWN_CHARS = 80  # of the received text in a message, escaped


class ChipProtocolError(DutError):
    """The chip answered, but not in the monitor protocol: garbled, truncated or oversized.

    Names the command and what came back (escaped, cut short). A run treats it as a chip fault:
    the vector is retried after a reset as the runbook's `retries:` allows, then the step fails.
    """

    def __init__(self, chip: str, command: str, received: str, what: str = "a garbled reply") -> None:
        self.command = command
        self.received = received
        super().__init__(
            f"chip {chip} answered '{command[:40]}' with {what}: {escaped(received)} — check the "
            "UART (baud rate, wiring, ground) and the chip's clock and supply"
        )


def escaped(text: str, limit: int = _SHOWN_CHARS) -> str:
    """Received text as one printable ASCII line (anything else escaped), at most ~`limit` long."""
    shown, used = [], 0
    for char in text:
        if " " <= char <= "~":
            piece = char
        elif ord(char) < 0x80:  # control characters: NUL, CR, escape ...
            piece = f"\\x{ord(char):02x}"
        else:
            piece = char.encode("ascii", "backslashreplace").decode()
        if used + len(piece) > limit:
            return f"'{''.join(shown)}'... ({len(text)} characters)"
        shown.append(piece)
        used += len(piece)
    return f"'{''.join(shown)}'"


class DutCommandError(DutError):
    """The chip refused a command (`ERR code message`)."""

    def __init__(self, chip: str, command: str, code: int, message: str) -> None:
        self.code = code
        super().__init__(f"chip {chip} refused '{command}': ERR {code} {message}")


class MonitorDut:
    def __init__(self, console: Any, *, name: str = "chip", timeout_s: float = 2.0,
                 boot_timeout_s: float = 5.0) -> None:
        self.console = console
        self.name = name
        self.timeout_s = timeout_s
        self.boot_timeout_s = boot_timeout_s

    # ------------------------------------------------------------------------------ commands
    def identify(self) -> dict[str, str]:
        fields, _ = self._command("ID")
        return dict(token.split("=", 1) for token in fields.split() if "=" in token)

    def resync(self) -> None:
        """Drop whatever the chip sent that no command consumed (garbage before a retry)."""
        self.console.drain()

    def wait_for_boot(self) -> None:
        """Wait for the banner and prompt a chip prints when it comes out of power-on reset.

        Call it after powering the chip with its console already open: commands sent before
        the firmware is up are lost, as on a real UART.
        """
        self._expect(_BANNER, self.boot_timeout_s, "(power-on banner)")

    def reset(self) -> None:
        self.console.write_line("RESET")
        match, _ = self._expect(_RESET_REPLY, self.boot_timeout_s, "RESET")
        if match.group(1) is not None:
            self._refused("RESET", match.group(1))

    def set_clock(self, mhz: float) -> float:
        command = f"CLK {round(mhz)}"
        fields, _ = self._command(command)
        return self._number(command, fields, float)

    def clock_mhz(self) -> float:
        fields, _ = self._command("CLK")
        return self._number("CLK", fields, float)

    def load(self, address: int, data: bytes) -> None:
        if len(data) % 4:
            raise DutError(f"chip {self.name}: load of {len(data)} bytes at {address:#x} is not whole words")
        words = memoryview(data).cast("I")  # little-endian hosts only, as are the targets we run on
        for start in range(0, len(words), WORDS_PER_LOAD):
            chunk = " ".join(f"{word:x}" for word in words[start:start + WORDS_PER_LOAD])
            self._command(f"LOAD {address + 4 * start:x} {chunk}")

    def run(self, entry: int, max_steps: int, *, tohost: int | None = None) -> RunOutcome:
        command = f"RUN {entry:x} {max_steps}" + (f" {tohost:x}" if tohost is not None else "")
        start = time.perf_counter()
        fields, _ = self._command(command, timeout=self.timeout_s + max_steps / SLOWEST_IPS)
        seconds = time.perf_counter() - start
        try:
            status, code, steps = fields.split()
            outcome = RunOutcome(status, int(code), int(steps), seconds)  # type: ignore[arg-type]
        except ValueError:
            raise ChipProtocolError(self.name, command, fields) from None
        if status not in _STATUSES:
            raise ChipProtocolError(self.name, command, fields, f"an unknown status '{status[:20]}'")
        return outcome

    def read_memory(self, address: int, length: int) -> bytes:
        # DUMP reads aligned words; read the words that cover the range and cut it out.
        skip = address % 4
        start = address - skip
        count = (skip + length + 3) // 4
        words: list[int] = []
        while len(words) < count:
            n = min(WORDS_PER_DUMP, count - len(words))
            command = f"DUMP {start + 4 * len(words):x} {n}"
            _, data = self._command(command)
            try:
                got = [int(token, 16) for token in data.split() if len(token) <= 8]
            except ValueError:
                raise ChipProtocolError(self.name, command, data) from None
            if len(got) != n or len(data.split()) != n:
                raise ChipProtocolError(self.name, command, data, f"{len(data.split())} words instead of {n}")
            words.extend(got)
        return struct.pack(f"<{count}I", *words)[skip:skip + length]

    def die_temperature(self) -> float:
        fields, _ = self._command("TEMP")
        return self._number("TEMP", fields, float)

    # ----------------------------------------------------------------------------- plumbing
    def _command(self, line: str, timeout: float | None = None) -> tuple[str, str]:
        """Send one command; returns (fields after OK, data lines before the status line)."""
        self.console.write_line(line)
        match, before = self._expect(_REPLY, timeout or self.timeout_s, line)
        status, fields = match.group(1), match.group(2) or ""
        longest = max((len(part) for part in (fields, *before.splitlines())), default=0)
        if longest > MAX_REPLY_LINE:
            raise ChipProtocolError(self.name, line, before + fields, f"a line of {longest} characters")
        if status == "ERR":
            self._refused(line, fields)
        return fields, before

    def _number(self, command: str, fields: str, kind: type[float]) -> float:
        """The first field of a reply as a number; anything else is a protocol error."""
        try:
            value = kind(fields.split()[0])
        except (IndexError, ValueError):
            raise ChipProtocolError(self.name, command, fields) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ChipProtocolError(self.name, command, fields, "a number that is not finite")
        return value

    def _refused(self, line: str, fields: str) -> NoReturn:
        code, _, message = fields.partition(" ")
        raise DutCommandError(self.name, line[:40], int(code) if code.isdigit() else 0, message)

    def _expect(self, pattern: re.Pattern[str], timeout: float, command: str) -> tuple[re.Match[str], str]:
        from instruments.errors import ConsoleTimeout

        try:
            return self.console.expect(pattern, timeout)
        except ConsoleTimeout as exc:
            raise DutTimeout(
                f"chip {self.name} did not answer '{command[:40]}' within {timeout:.1f} s "
                f"(hung, unpowered or babbling; last received: {exc.tail[-80:]!r}) — "
                "reset or power-cycle it"
            ) from None
