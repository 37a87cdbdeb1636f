import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bringup.vectors import ElfVectorError, load_elf_vector, load_suite, load_vectors
from bringup.yamlfile import ConfigError, ConfigErrors

DIRECTED = Path(__file__).resolve().parents[2] / "runbooks" / "vectors"
SUITES = ("alu", "muldiv", "branch", "march")


def test_directed_suite_lists_every_elf_with_its_symbols() -> None:
    suite = load_suite(DIRECTED / "directed.yaml")
    assert suite.name == "directed"
    assert [vector.name for vector in suite.vectors] == list(SUITES)
    by_name = {vector.name: vector for vector in suite.vectors}
    assert by_name["alu"].max_steps == 20000  # the suite default
    assert by_name["march"].max_steps == 50000  # its own
    for vector in suite.vectors:
        assert vector.entry == vector.load_address == 0x8000_0000
        assert vector.signature_end > vector.signature_start
        assert vector.initial_signature() == bytes.fromhex("efbeadde") * vector.signature_words


def test_elf_loader_zero_fills_bss_into_the_image() -> None:
    march = load_elf_vector(DIRECTED / "march.elf", max_steps=1000)
    # The march buffer (1 KiB of .bss) follows the signature; the chip must get it written.
    assert march.end_address >= march.signature_end + 1024
    assert march.image[-1024:] == bytes(1024)


def test_a_file_that_is_not_an_elf_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.elf"
    bogus.write_bytes(b"not an elf at all")
    with pytest.raises(ElfVectorError, match=r"bogus.elf: not a loadable RV32 ELF .* rebuild it"):
        load_elf_vector(bogus, max_steps=10)


def test_an_elf_without_the_signature_symbols_says_which(tmp_path: Path) -> None:
    objcopy = shutil.which("riscv64-unknown-elf-objcopy")
    if objcopy is None:
        pytest.skip("needs riscv64-unknown-elf-objcopy to strip a symbol from a test ELF")
    stripped = tmp_path / "stripped.elf"
    subprocess.run([objcopy, "--strip-symbol=end_signature", str(DIRECTED / "alu.elf"), str(stripped)],
                   check=True)
    with pytest.raises(ElfVectorError, match="no symbol end_signature — define begin_signature"):
        load_elf_vector(stripped, max_steps=10)


def suite_file(tmp_path: Path, text: str) -> Path:
    for name in SUITES:
        shutil.copy(DIRECTED / f"{name}.elf", tmp_path)
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


def one_error(path: Path) -> str:
    with pytest.raises(ConfigErrors) as raised:
        load_suite(path)
    assert len(raised.value.errors) == 1, str(raised.value)
    message = str(raised.value.errors[0])
    assert "\n" not in message
    return message


def test_a_single_vector_file_and_its_overrides(tmp_path: Path) -> None:
    path = suite_file(tmp_path, "file: alu.elf\nmax_steps: 777\nentry: 0x80000004\n")
    (vector,) = load_vectors(path)
    assert (vector.name, vector.max_steps, vector.entry) == ("alu", 777, 0x8000_0004)


def test_a_typo_names_the_line_and_the_likely_key(tmp_path: Path) -> None:
    path = suite_file(tmp_path, "name: s\nvectors:\n  - file: alu.elf\n    max_step: 10\n")
    assert one_error(path) == f"{path}:4: unknown key 'max_step' in vector 1 — did you mean 'max_steps'?"


@pytest.mark.parametrize(("text", "line", "says"), [
    ("name: s\nvectors:\n  - file: nope.elf\n", 3, "vector file nope.elf not found"),
    ("name: s\nvectors:\n  - file: alu.elf\n", 3, "no step budget for alu.elf — add max_steps:"),
    ("name: s\nmax_steps: 10\nvectors:\n  - file: alu.elf\n    load_address: 0x80000000\n", 5,
     "an ELF places its own segments — remove load_address"),
    ("name: s\nmax_steps: 10\nvectors:\n  - file: alu.elf\n  - file: alu.elf\n", 5,
     r"two vectors are named 'alu' \(the first is vector 1\) — give each vector its own 'name:'"),
    ("name: s\nmax_steps: 10\nvectors:\n  - file: alu.elf\n"
     "    signature: {start: 0x80000000, end: 0x80100000}\n", 4, "does not fit|lies outside the image"),
    ("name: s\nvectors: []\n", 2, "a suite needs at least one vector — list them as '- file: name.elf'"),
    ("name: s\nmax_steps: -1\nvectors:\n  - file: alu.elf\n", 2,
     "max_steps input should be greater than 0, got -1"),
    ("name: s\nvectors:\n  - file: link.ld\n", 3, "unknown vector file type '.ld'"),
])
def test_each_suite_mistake_is_one_line(tmp_path: Path, text: str, line: int, says: str) -> None:
    (tmp_path / "link.ld").write_text("")
    path = suite_file(tmp_path, text)
    message = one_error(path)
    assert message.startswith(f"{path}:{line}: ")
    assert re.search(says, message), message


def test_a_mistake_inside_a_hex_file_points_into_the_hex_file(tmp_path: Path) -> None:
    (tmp_path / "bad.hex").write_text(".load 0x80000000\nxyz\n")
    path = suite_file(tmp_path, "name: s\nvectors:\n  - file: bad.hex\n")
    assert one_error(path).startswith(f"{tmp_path / 'bad.hex'}:2: 'xyz' is not a 32-bit hex word")


def test_an_elf_needs_a_yaml_description_for_its_budget() -> None:
    with pytest.raises(ConfigError, match="an ELF carries no step budget — describe it in a YAML file"):
        load_vectors(DIRECTED / "alu.elf")
