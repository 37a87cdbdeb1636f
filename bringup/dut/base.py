"""The chip as the toolkit sees it: a small protocol that a simulated or real chip fulfils.

`ReferenceDut` runs on the emulator (dry runs of a runbook, golden generation); `MonitorDut`
drives a real or simulated chip over its UART monitor (docs/monitor-protocol.md). Vectors,
steps and sweeps talk to either through `Dut` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

RunStatus = Literal["exit", "timeout", "trap"]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a program run on the chip ended.

    `status` is `exit` (the program ended through tohost or the exit ecall; `exit_code` is its
    code), `timeout` (the step budget ran out) or `trap` (an unhandled exception; `exit_code`
    is mcause). `steps` is instructions retired; `seconds` is the wall time of the run itself.
    """

    status: RunStatus
    exit_code: int
    steps: int
    seconds: float = 0.0


class DutError(Exception):
    """The chip did something the toolkit cannot continue from (no answer, garbage, refusal)."""


class DutTimeout(DutError):
    """The chip did not answer in time: hung, unpowered or babbling. Reset or power-cycle it."""


@runtime_checkable
class Dut(Protocol):
    name: str

    def wait_for_boot(self) -> None:
        """Return once the chip, just powered, is ready for commands (raise DutTimeout if not)."""
        ...

    def reset(self) -> None:
        """Reset the core; clock back to its default, memory contents undefined."""
        ...

    def set_clock(self, mhz: float) -> float:
        """Set the core clock; returns the frequency actually set."""
        ...

    def clock_mhz(self) -> float: ...

    def load(self, address: int, data: bytes) -> None:
        """Write `data` (a multiple of 4 bytes, little-endian words) at `address`."""
        ...

    def run(self, entry: int, max_steps: int, *, tohost: int | None = None) -> RunOutcome:
        """Run from `entry` for at most `max_steps` instructions; a tohost write ends it."""
        ...

    def read_memory(self, address: int, length: int) -> bytes: ...

    def die_temperature(self) -> float: ...
