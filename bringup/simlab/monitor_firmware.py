"""The simulated chip's bring-up firmware: the UART monitor protocol of docs/monitor-protocol.md.

Pure command handling (a line in, reply lines out); the pty, boot and faults live in chip.py.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from bringup.simlab.physics import Physics

FIRMWARE = "bringup-mon/1.0"
BANNER_PREFIX = "BRINGUP-MON 1.0"
PROMPT = "> "
MAX_LINE = 1024
MAX_LOAD_WORDS = 64
MAX_DUMP_WORDS = 1024
DUMP_WORDS_PER_LINE = 16
MAX_STEPS = 100_000_000
CORE_MHZ_RANGE = (50.0, 1600.0)  # 2-64 x the 25 MHz reference; shmoos go to 1.6 GHz
PLL_MULTIPLIER_RANGE = (2, 64)
_HEX_WORD = re.compile(r"[0-9a-fA-F]{1,8}")
HELP_LINES = (
    "ID | RESET | CLK [mhz] | LOAD addr w0..w63 | RUN entry max_steps [tohost] | DUMP addr count | TEMP",
)


class RunOutcome(NamedTuple):
    """What a run left behind: status is 'exit', 'timeout' or 'trap'."""

    status: str
    exit_code: int
    steps: int


class Executor(Protocol):
    """Runs a program in place in `memory` (RAM starting at `base_address`).

    `tohost` is passed (as a keyword) only when the `RUN` command names one, so executors
    that take four arguments still serve plain `RUN`: a store that leaves bit 0 of that word
    set ends the run with status 'exit' and exit code word >> 1. SimLab plugs
    `bringup.simlab.chip.ReferenceCoreExecutor` in by default.
    """

    def __call__(
        self, memory: bytearray, base_address: int, entry: int, max_steps: int,
        tohost: int | None = None,
    ) -> RunOutcome | tuple[str, int, int]: ...


@dataclass(frozen=True)
class RunPoint:
    """Where and what a run executed: the operating point and a digest of what was loaded."""

    margin_v: float  # core volts at the die above Vmin (negative: below it)
    core_mhz: float
    program_digest: bytes  # of every LOAD since the last reset or boot: the program content
    tohost: int | None  # the mailbox word, which the host reads to learn how the run ended
    ram_before: bytes = field(repr=False)  # RAM as the run found it


class RunDisturbance(Protocol):
    """Hook for what an operating point below Vmin does to a run (bit errors, hangs).

    Called after every run; it may change `memory` and return a different outcome, or raise
    `ChipHung` when the core never comes back. `no_disturbance` changes nothing;
    `bringup.simlab.silicon.MarginalSilicon` is the model of a real marginal die.
    """

    def __call__(
        self, memory: bytearray, base_address: int, outcome: RunOutcome, point: RunPoint
    ) -> RunOutcome: ...


def no_disturbance(
    memory: bytearray, base_address: int, outcome: RunOutcome, point: RunPoint
) -> RunOutcome:
    return outcome


class ChipHung(Exception):
    """The core wedged during a run: the monitor never answers again until a power cycle."""


class MonitorError(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass
class Reply:
    lines: list[str]
    then_reset: bool = False


class MonitorFirmware:
    """Answers one command line at a time; the caller adds the prompt."""

    def __init__(
        self,
        serial: str,
        physics: Physics,
        memory: bytearray,
        ram_base: int,
        executor: Callable[[], Executor | None],
        disturbance: Callable[[], RunDisturbance],
    ) -> None:
        self.serial = serial
        self.physics = physics
        self.memory = memory
        self.ram_base = ram_base
        self._executor = executor
        self._disturbance = disturbance
        self._loaded = hashlib.blake2b(digest_size=16)
        self._commands: dict[str, Callable[[list[str]], Reply]] = {
            "ID": self._identify,
            "RESET": self._reset,
            "CLK": self._clock,
            "LOAD": self._load,
            "RUN": self._run,
            "DUMP": self._dump,
            "TEMP": self._temperature,
            "HELP": lambda args: Reply([*HELP_LINES, "OK"]),
        }

    @property
    def banner(self) -> str:
        return f"{BANNER_PREFIX} chip={self.serial}"

    def handle(self, line: str) -> Reply:
        if len(line) + 1 > MAX_LINE:
            return Reply([f"ERR 413 line too long (max {MAX_LINE} characters)"])
        fields = line.split()
        if not fields:
            return Reply([])
        name, args = fields[0].upper(), fields[1:]
        command = self._commands.get(name)
        if command is None:
            return Reply([f"ERR 404 unknown command {fields[0]!r} (try HELP)"])
        try:
            return command(args)
        except MonitorError as error:
            return Reply([f"ERR {error.code} {error}"])

    # -- commands ---------------------------------------------------------------------

    def restart(self) -> None:
        """What the firmware forgets when the chip boots or resets."""
        self._loaded = hashlib.blake2b(digest_size=16)

    def _reset(self, args: list[str]) -> Reply:
        self.restart()
        return Reply(["OK"], then_reset=True)

    def _identify(self, args: list[str]) -> Reply:
        _expect_count("ID", args, 0, 0)
        ref_mhz = self.physics.refclk.frequency_hz / 1e6
        return Reply([
            f"OK chip={self.serial} fw={FIRMWARE} ram={self.ram_base:08x}+{len(self.memory):08x}"
            f" ref_mhz={ref_mhz:.3f} core_mhz={round(self.physics.core_hz / 1e6)}"
        ])

    def _clock(self, args: list[str]) -> Reply:
        _expect_count("CLK", args, 0, 1)
        with self.physics.lock:
            ref_mhz = self.physics.refclk.frequency_hz / 1e6
            if args:
                self._set_clock(_decimal(args[0], "core clock"), ref_mhz)
            multiplier = self.physics.pll_multiplier
        return Reply([f"OK {round(ref_mhz * multiplier)} {ref_mhz:.3f} {multiplier}"])

    def _set_clock(self, mhz: float, ref_mhz: float) -> None:
        low, high = CORE_MHZ_RANGE
        multiplier = round(mhz / ref_mhz) if ref_mhz > 0 else 0
        actual = multiplier * ref_mhz
        if not (low <= mhz <= high and low <= actual <= high):
            raise MonitorError(422, f"core clock {mhz:g} MHz out of range {low:g}-{high:g} MHz")
        if not PLL_MULTIPLIER_RANGE[0] <= multiplier <= PLL_MULTIPLIER_RANGE[1]:
            raise MonitorError(422, f"PLL multiplier {multiplier} out of range 2-64")
        self.physics.pll_multiplier = multiplier
        self.physics.update()

    def _load(self, args: list[str]) -> Reply:
        if not 2 <= len(args) <= MAX_LOAD_WORDS + 1:
            raise MonitorError(400, f"LOAD needs an address and 1-{MAX_LOAD_WORDS} hex words")
        address = _hex(args[0], "address")
        words = [_hex(word, "word") for word in args[1:]]
        offset = self._offset(address, len(words))
        struct.pack_into(f"<{len(words)}I", self.memory, offset, *words)
        self._loaded.update(struct.pack(f"<{len(words) + 1}I", address, *words))
        return Reply(["OK"])

    def _dump(self, args: list[str]) -> Reply:
        _expect_count("DUMP", args, 2, 2)
        address, count = _hex(args[0], "address"), _decimal_int(args[1], "count")
        if not 1 <= count <= MAX_DUMP_WORDS:
            raise MonitorError(400, f"DUMP count {count} outside 1-{MAX_DUMP_WORDS}")
        offset = self._offset(address, count)
        words = struct.unpack_from(f"<{count}I", self.memory, offset)
        lines = [
            " ".join(f"{word:08x}" for word in words[start : start + DUMP_WORDS_PER_LINE])
            for start in range(0, count, DUMP_WORDS_PER_LINE)
        ]
        return Reply([*lines, f"OK {count}"])

    def _run(self, args: list[str]) -> Reply:
        _expect_count("RUN", args, 2, 3)
        entry, max_steps = _hex(args[0], "entry"), _decimal_int(args[1], "max_steps")
        tohost = _hex(args[2], "tohost") if len(args) == 3 else None
        if not 1 <= max_steps <= MAX_STEPS:
            raise MonitorError(400, f"max_steps {max_steps} outside 1-{MAX_STEPS}")
        self._offset(entry, 1)
        if tohost is not None:
            self._offset(tohost, 1)
        executor = self._executor()
        if executor is None:
            raise MonitorError(501, "run needs the reference core")
        point = self._run_point(tohost)
        extra = {} if tohost is None else {"tohost": tohost}
        outcome = RunOutcome(*executor(self.memory, self.ram_base, entry, max_steps, **extra))
        # Below Vmin the silicon misbehaves; the disturbance hook decides how (see RunDisturbance).
        outcome = self._disturbance()(self.memory, self.ram_base, outcome, point)
        return Reply([f"OK {outcome.status} {outcome.exit_code} {outcome.steps}"])

    def _run_point(self, tohost: int | None) -> RunPoint:
        digest = self._loaded.digest()
        with self.physics.lock:
            margin_v = self.physics.core_margin_v()
            core_mhz = self.physics.core_hz / 1e6
        # A copy of 64 KiB costs microseconds; it tells a disturbance which words the run wrote.
        return RunPoint(margin_v, core_mhz, digest, tohost, bytes(self.memory))

    def _temperature(self, args: list[str]) -> Reply:
        _expect_count("TEMP", args, 0, 0)
        return Reply([f"OK {self.physics.die_temperature():.1f}"])

    def _offset(self, address: int, words: int) -> int:
        offset = address - self.ram_base
        if address % 4 or offset < 0 or offset + 4 * words > len(self.memory):
            top = self.ram_base + len(self.memory) - 1
            raise MonitorError(
                416,
                f"0x{address:08x}+{words} words is unaligned or outside RAM "
                f"0x{self.ram_base:08x}-0x{top:08x}",
            )
        return offset


def _expect_count(name: str, args: list[str], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        wanted = str(low) if low == high else f"{low}-{high}"
        raise MonitorError(400, f"{name} takes {wanted} arguments, got {len(args)}")


def _hex(token: str, what: str) -> int:
    digits = token[2:] if token.lower().startswith("0x") else token
    if not _HEX_WORD.fullmatch(digits):
        raise MonitorError(400, f"{what} {token!r} is not 1-8 hex digits")
    return int(digits, 16)


def _decimal(token: str, what: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise MonitorError(400, f"{what} {token!r} is not a decimal number") from None


def _decimal_int(token: str, what: str) -> int:
    if not token.isdigit():
        raise MonitorError(400, f"{what} {token!r} is not a decimal integer")
    return int(token)
