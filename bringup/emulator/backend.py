"""The backend interface shared by the reference core and the optional Unicorn engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from bringup.emulator.core import Core, RunResult
from bringup.emulator.memory import Memory


@runtime_checkable
class Backend(Protocol):
    """What a vector runner needs from an emulator. Registers and words are unsigned 32-bit."""

    name: str
    pc: int

    @property
    def regs(self) -> list[int]: ...

    def load(self, address: int, data: bytes) -> None: ...

    def read_words(self, address: int, count: int) -> list[int]: ...

    def write_words(self, address: int, words: list[int]) -> None: ...

    def read_bytes(self, address: int, length: int) -> bytes: ...

    def run(self, max_steps: int) -> RunResult: ...

    def reset(self) -> None: ...


class PythonBackend:
    """The reference core behind the ``Backend`` interface."""

    name = "python"

    def __init__(self, regions: Sequence[tuple[int, int]], *, tohost: int | None = None,
                 misaligned: str = "allow") -> None:
        self.core = Core(Memory(regions), tohost=tohost, misaligned=misaligned)

    @property
    def pc(self) -> int:
        return self.core.pc

    @pc.setter
    def pc(self, value: int) -> None:
        self.core.pc = value

    @property
    def regs(self) -> list[int]:
        return list(self.core.regs)

    def load(self, address: int, data: bytes) -> None:
        self.core.load(address, data)

    def read_words(self, address: int, count: int) -> list[int]:
        return self.core.read_words(address, count)

    def write_words(self, address: int, words: list[int]) -> None:
        self.core.write_words(address, words)

    def read_bytes(self, address: int, length: int) -> bytes:
        return self.core.read_bytes(address, length)

    def run(self, max_steps: int) -> RunResult:
        return self.core.run(max_steps)

    def reset(self) -> None:
        self.core.reset()


def make_backend(kind: str, regions: Sequence[tuple[int, int]], *, tohost: int | None = None,
                 misaligned: str = "allow") -> Backend:
    """``make_backend("python" | "unicorn", [(base, size), ...], tohost=..., misaligned=...)``."""
    if kind == "python":
        return PythonBackend(regions, tohost=tohost, misaligned=misaligned)
    if kind == "unicorn":
        from bringup.emulator.unicorn_backend import UnicornBackend

        return UnicornBackend(regions, tohost=tohost, misaligned=misaligned)
    raise ValueError(f"unknown emulator backend {kind!r}: use 'python' or 'unicorn'")
