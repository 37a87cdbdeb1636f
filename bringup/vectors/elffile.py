"""ELF vectors: the emulator's ELF loader gives segments, entry and the riscv-tests symbols.

The segments are merged into one contiguous image (gaps and .bss zero-filled) so that loading a
vector writes every byte the program may read: a chip's RAM is not zeroed at reset.
"""

from __future__ import annotations

from pathlib import Path

from bringup.messages import first_line
from bringup.vectors.model import RAM_BASE, RAM_SIZE, Vector, VectorError
from bringup.yamlfile import read_file

REQUIRED_SYMBOLS = ("begin_signature", "end_signature", "tohost")
# An ELF of a program for the 64 KiB RAM is tens of KiB (with symbols and debug info, a few MiB).
MAX_ELF_BYTES = 16 * 1024 * 1024


class ElfVectorError(VectorError):
    """An ELF that is not a usable vector; the message names the file and the fix."""


def load_elf_vector(path: str | Path, *, max_steps: int, name: str | None = None) -> Vector:
    """A vector from an ELF with `begin_signature`, `end_signature` and `tohost` symbols."""
    from bringup.emulator import load_elf  # lazy: keeps `import bringup.vectors` light

    path = Path(path)
    raw = read_file(path, what="ELF vector", limit=MAX_ELF_BYTES)
    try:
        check_segments(raw)
        elf = load_elf(raw)
    except ElfVectorError as exc:
        raise ElfVectorError(f"{path}: {exc}") from None
    except Exception as exc:  # a hostile ELF can upset the parser in any way
        reason = first_line(exc)[:120]
        raise ElfVectorError(f"{path}: not a loadable RV32 ELF ({reason}) — rebuild it for rv32im") from None
    missing = [symbol for symbol in REQUIRED_SYMBOLS if symbol not in elf.symbols]
    if missing:
        raise ElfVectorError(
            f"{path}: no symbol {', '.join(missing)} — define begin_signature/end_signature around "
            "the signature and a tohost word (see runbooks/vectors/link.ld)"
        )
    segments = [(segment.address, bytes(segment.data)) for segment in elf.segments if segment.data]
    if not segments:
        raise ElfVectorError(f"{path}: no loadable segment — link the program with a PT_LOAD segment")
    load_address, image = merge_segments(segments)
    return Vector(
        name=name or path.stem,
        image=image,
        load_address=load_address,
        entry=elf.entry,
        signature_start=elf.symbols["begin_signature"],
        signature_end=elf.symbols["end_signature"],
        tohost=elf.symbols["tohost"],
        max_steps=max_steps,
        source=str(path),
    )


def check_segments(raw: bytes) -> None:
    """Refuse what would break loading before any image is built: every PT_LOAD segment must lie
    in the file, hold no more file bytes than memory bytes, and fit the chip's RAM."""
    import io

    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(raw))
    for index, segment in enumerate(elf.iter_segments()):
        if segment["p_type"] != "PT_LOAD" or not segment["p_memsz"]:
            continue
        address, filesz, memsz = segment["p_paddr"], segment["p_filesz"], segment["p_memsz"]
        where = f"segment {index} at {address:#x}"
        if filesz > memsz:
            raise ElfVectorError(f"{where} has p_filesz {filesz} above p_memsz {memsz} — the ELF is "
                                 "corrupt; rebuild it")
        if segment["p_offset"] + filesz > len(raw):
            raise ElfVectorError(f"{where} reaches past the end of the file — the ELF is truncated; "
                                 "copy it again")
        if address < RAM_BASE or address + memsz > RAM_BASE + RAM_SIZE:
            raise ElfVectorError(f"{where} ({memsz} bytes) does not fit the {RAM_SIZE // 1024} KiB RAM "
                                 f"at {RAM_BASE:#x} — link it into that RAM (runbooks/vectors/link.ld)")


def merge_segments(segments: list[tuple[int, bytes]]) -> tuple[int, bytes]:
    """(load address, image) covering every segment; the bytes between segments are zero."""
    start = min(address for address, _ in segments)
    end = max(address + len(data) for address, data in segments)
    image = bytearray(end - start)
    for address, data in sorted(segments):
        image[address - start : address - start + len(data)] = data
    return start, bytes(image)
