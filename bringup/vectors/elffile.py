"""ELF vectors: the emulator's ELF loader gives segments, entry and the riscv-tests symbols.

The segments are merged into one contiguous image (gaps and .bss zero-filled) so that loading a
vector writes every byte the program may read: a chip's RAM is not zeroed at reset.
"""

from __future__ import annotations

from pathlib import Path

from bringup.vectors.model import Vector, VectorError

REQUIRED_SYMBOLS = ("begin_signature", "end_signature", "tohost")


class ElfVectorError(VectorError):
    """An ELF that is not a usable vector; the message names the file and the fix."""


def load_elf_vector(path: str | Path, *, max_steps: int, name: str | None = None) -> Vector:
    """A vector from an ELF with `begin_signature`, `end_signature` and `tohost` symbols."""
    from bringup.emulator import ElfError, load_elf  # lazy: keeps `import bringup.vectors` light

    path = Path(path)
    try:
        elf = load_elf(path)
    except (ElfError, OSError) as exc:
        raise ElfVectorError(f"{path}: not a loadable RV32 ELF ({exc}) — rebuild it for rv32im") from None
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


def merge_segments(segments: list[tuple[int, bytes]]) -> tuple[int, bytes]:
    """(load address, image) covering every segment; the bytes between segments are zero."""
    start = min(address for address, _ in segments)
    end = max(address + len(data) for address, data in segments)
    image = bytearray(end - start)
    for address, data in sorted(segments):
        image[address - start : address - start + len(data)] = data
    return start, bytes(image)
