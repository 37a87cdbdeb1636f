"""One line of the execution trace."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """What one executed instruction did. ``word``/``text`` are ``None``/``"<fetch fault>"`` when
    the fetch itself faulted; ``trap_cause`` is set when the instruction trapped (and then
    nothing was written)."""

    pc: int
    word: int | None
    text: str
    rd: int | None = None
    rd_value: int | None = None
    store: tuple[int, int, int] | None = None  # (address, size in bytes, value)
    trap_cause: int | None = None

    def __str__(self) -> str:
        word = f"{self.word:08x}" if self.word is not None else "????????"
        line = f"{self.pc:08x}: {word}  {self.text:<28}"
        if self.rd is not None:
            line += f" x{self.rd}={self.rd_value:08x}"
        if self.store is not None:
            address, size, value = self.store
            line += f" mem[{address:08x}]={value:0{2 * size}x}"
        if self.trap_cause is not None:
            line += f" trap cause={self.trap_cause}"
        return line.rstrip()
