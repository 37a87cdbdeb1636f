"""ELF loading, with a program built by the GNU RISC-V toolchain (skipped where it is absent)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bringup.emulator import Core, ElfError, Memory, StopReason, load_elf, make_backend

AS = shutil.which("riscv64-unknown-elf-as")
LD = shutil.which("riscv64-unknown-elf-ld")
needs_toolchain = pytest.mark.skipif(
    AS is None or LD is None, reason="riscv64-unknown-elf-as/ld not on PATH")

SOURCE = """
    .section .text.init
    .globl _start
_start:
    la t0, begin_signature
    li t1, 0x11223344
    sw t1, 0(t0)
    li t2, 6
    li t3, 7
    mul t4, t2, t3
    sw t4, 4(t0)
    la t5, tohost
    li t6, (5 << 1) | 1
    sw t6, 0(t5)
1:  j 1b

    .section .tohost, "aw", @progbits
    .align 3
    .globl tohost
tohost: .dword 0

    .data
    .align 4
    .globl begin_signature
begin_signature:
    .word 0xdeadbeef, 0xdeadbeef, 0xdeadbeef
    .globl end_signature
end_signature:
    .bss
scratch: .space 64
"""


@pytest.fixture(scope="module")
def elf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if AS is None or LD is None:
        pytest.skip("riscv64-unknown-elf-as/ld not on PATH")
    work = tmp_path_factory.mktemp("elf")
    (work / "prog.S").write_text(SOURCE)
    subprocess.run([AS, "-march=rv32im", "-mabi=ilp32", "-o", str(work / "prog.o"),
                    str(work / "prog.S")], check=True)
    # -N: no headers in a segment below RAM; --no-relax: keep `la` absolute, not gp-relative
    subprocess.run([LD, "-m", "elf32lriscv", "-N", "--no-relax", "-Ttext=0x80000000",
                    "-o", str(work / "prog.elf"), str(work / "prog.o")], check=True)
    return work / "prog.elf"


@needs_toolchain
def test_elf_segments_entry_and_symbols(elf_path: Path) -> None:
    image = load_elf(elf_path)
    assert image.entry == 0x8000_0000
    assert image.tohost is not None and image.tohost % 8 == 0
    assert image.signature_words() == (image.begin_signature, 3)
    assert any(seg.address == 0x8000_0000 for seg in image.segments)
    assert load_elf(elf_path.read_bytes()) == image


@needs_toolchain
@pytest.mark.parametrize("kind", ["python", "unicorn"])
def test_elf_runs_to_tohost_with_signature(elf_path: Path, kind: str) -> None:
    image = load_elf(elf_path)
    backend = make_backend(kind, [(0x8000_0000, 0x1_0000)], tohost=image.tohost)
    image.load_into(backend)
    result = backend.run(1000)
    assert (result.status, result.exit_code) == (StopReason.HALTED, 5)
    assert backend.read_words(*image.signature_words()) == [0x1122_3344, 42, 0xDEAD_BEEF]


def test_elf_errors_name_the_file(tmp_path: Path) -> None:
    bogus = tmp_path / "not.elf"
    bogus.write_bytes(b"\x7fELF" + bytes(60))
    with pytest.raises(ElfError, match=r"not\.elf"):
        load_elf(bogus)
    with pytest.raises(ElfError, match="cannot open"):
        load_elf(tmp_path / "missing.elf")


def test_tohost_outside_memory_is_rejected() -> None:
    with pytest.raises(ValueError, match="outside every memory region"):
        Core(Memory([(0x8000_0000, 0x1000)]), tohost=0x4000_0000)
