"""ELF32 RISC-V program images (pyelftools, imported on first use)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Protocol


class ElfError(ValueError):
    """The file is not a loadable little-endian RV32 executable."""


@dataclass(frozen=True, slots=True)
class Segment:
    address: int
    data: bytes  # file contents padded with zeros to the segment's memory size


class _Loadable(Protocol):
    pc: int

    def load(self, address: int, data: bytes) -> None: ...


@dataclass(frozen=True)
class ElfImage:
    segments: list[Segment]
    entry: int
    symbols: dict[str, int] = field(default_factory=dict)

    @property
    def tohost(self) -> int | None:
        return self.symbols.get("tohost")

    @property
    def begin_signature(self) -> int | None:
        return self.symbols.get("begin_signature")

    @property
    def end_signature(self) -> int | None:
        return self.symbols.get("end_signature")

    def signature_words(self) -> tuple[int, int]:
        """``(address, word count)`` of the signature region, for ``read_words``."""
        begin, end = self.begin_signature, self.end_signature
        if begin is None or end is None:
            raise ElfError("the ELF has no begin_signature/end_signature symbols; define both "
                           "around the result region (riscv-arch-test style)")
        if end < begin:
            raise ElfError(f"end_signature {end:#x} is below begin_signature {begin:#x}")
        return begin, (end - begin + 3) // 4

    def load_into(self, target: _Loadable) -> None:
        """Write every segment into a ``Core`` or ``Backend`` and point its pc at the entry."""
        for segment in self.segments:
            target.load(segment.address, segment.data)
        target.pc = self.entry


def load_elf(source: str | os.PathLike[str] | bytes) -> ElfImage:
    """Read an RV32 ELF executable: its PT_LOAD segments, entry point and symbols."""
    from elftools.common.exceptions import ELFError as PyElfError
    from elftools.elf.elffile import ELFFile

    name = "<bytes>" if isinstance(source, bytes | bytearray) else os.fspath(source)
    raw = bytes(source) if isinstance(source, bytes | bytearray) else _read(name)
    try:
        elf = ELFFile(io.BytesIO(raw))
        if elf.elfclass != 32 or not elf.little_endian or elf["e_machine"] != "EM_RISCV":
            raise ElfError(f"{name}: not a little-endian 32-bit RISC-V ELF "
                           f"(class {elf.elfclass}, machine {elf['e_machine']})")
        segments = [
            Segment(seg["p_paddr"], seg.data() + bytes(seg["p_memsz"] - seg["p_filesz"]))
            for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD" and seg["p_memsz"]
        ]
        symbols: dict[str, int] = {}
        table = elf.get_section_by_name(".symtab")
        if table is not None:
            for symbol in table.iter_symbols():
                if symbol.name and symbol["st_info"]["type"] != "STT_FILE":
                    symbols.setdefault(symbol.name, symbol["st_value"])
        return ElfImage(segments, elf["e_entry"], symbols)
    except PyElfError as error:
        raise ElfError(f"{name}: cannot read the ELF file ({error})") from error


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ElfError(f"{path}: cannot open the ELF file ({error.strerror})") from error
