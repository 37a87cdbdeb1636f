"""Hand-written hostile files (tests/fuzz/corpus/<kind>/) and things that are not files at all:
each is refused at once, in one `file:line: what — fix` line per mistake, within a time and a
memory bound."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from fuzz_support import CASE_MEMORY_BYTES, CORPUS, ROOT, assert_clean_errors, measured_outcome, outcome

CASES = [(kind, path) for kind in ("station", "runbook", "suite")
         for path in sorted((CORPUS / kind).glob("*.yaml"))]
ALU_ELF = ROOT / "runbooks" / "vectors" / "alu.elf"


@pytest.mark.parametrize(("kind", "path"), CASES, ids=[f"{k}/{p.name}" for k, p in CASES])
def test_a_hostile_file_is_refused_in_one_line_per_mistake(kind: str, path: Path) -> None:
    lines, peak = measured_outcome(kind, path)
    assert_clean_errors(lines, path)
    assert all(" — " in line for line in lines), f"an error offers no fix: {lines}"
    assert peak < CASE_MEMORY_BYTES, f"refusing {path.name} took {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("kind", ["station", "runbook", "suite"])
@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "directory", "fifo"])
def test_what_is_not_a_regular_file_is_refused_at_once(kind: str, special: str, tmp_path: Path) -> None:
    if special == "fifo":
        path = tmp_path / "station.yaml"
        os.mkfifo(path)  # nobody ever writes to it: reading it would wait forever
    elif special == "directory":
        path = tmp_path
    else:
        path = Path(special)
    lines = outcome(kind, path)
    assert len(lines) == 1 and lines[0].startswith(f"{path}: ") and "not a regular file" in lines[0]


def test_a_file_beyond_the_size_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: 9 GiB on paper, nothing on the disk
        handle.truncate(9 * 2**30)
    lines, peak = measured_outcome("station", path)
    assert len(lines) == 1 and "more than the" in lines[0] and peak < 2**20


# ---------------------------------------------------------------------------- hostile ELFs
def _patched_elf(folder: Path, patch: str) -> Path:
    """The shipped alu.elf with its first PT_LOAD program header changed as `patch` says."""
    data = bytearray(ALU_ELF.read_bytes())
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    header = next(phoff + i * phentsize for i in range(phnum)
                  if struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 1)  # PT_LOAD
    filesz, = struct.unpack_from("<I", data, header + 16)
    if patch == "memsz-below-filesz":
        struct.pack_into("<I", data, header + 20, filesz - 4)
    elif patch == "segment-at-top":
        struct.pack_into("<II", data, header + 8, 0xFFFFFFF0, 0xFFFFFFF0)
    elif patch == "filesz-past-end":
        struct.pack_into("<II", data, header + 16, 0x7FFFFFFF, 0x7FFFFFFF)
    elif patch == "truncated":
        del data[len(data) // 3 :]
    elif patch == "garbage":
        data[16:] = bytes((i * 151) & 0xFF for i in range(len(data) - 16))
    path = folder / f"{patch}.elf"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("patch", ["memsz-below-filesz", "segment-at-top", "filesz-past-end", "truncated",
                                   "garbage"])
def test_a_hostile_elf_is_refused_naming_the_suite_line_and_the_vector(patch: str, tmp_path: Path) -> None:
    elf = _patched_elf(tmp_path, patch)
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: hostile\nmax_steps: 1000\nvectors:\n  - file: {elf.name}\n")
    lines, peak = measured_outcome("suite", suite)
    assert_clean_errors(lines, suite)
    assert len(lines) == 1 and lines[0].startswith(f"{suite}:4: ") and elf.name in lines[0], lines
    assert peak < CASE_MEMORY_BYTES


def test_a_budget_of_two_to_the_64_is_refused_in_the_suite(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: big\nvectors:\n  - file: {ALU_ELF}\n    max_steps: {2**64}\n")
    lines = outcome("suite", suite)
    assert len(lines) == 1 and lines[0].startswith(f"{suite}:4: ") and "max_steps" in lines[0], lines
