from pathlib import Path

import pytest

from bringup.vectors import RAM_BASE, Vector, dump_hex, load_hex, load_vectors, write_hex
from bringup.yamlfile import ConfigError

HEADER = """\
# a hand-written vector
.name demo
.load 0x80000000
.signature 0x80000008 0x80000010
.tohost 0x80000010
.max_steps 50
"""
WORDS = "00000013 00000013\n# the signature\ndeadbeef deadbeef\n0 0\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "demo.hex"
    path.write_text(text)
    return path


def test_reads_directives_and_words(tmp_path: Path) -> None:
    vector = load_hex(write(tmp_path, HEADER + WORDS))
    assert vector.name == "demo"
    assert vector.entry == RAM_BASE  # .entry defaults to .load
    assert vector.words == [0x13, 0x13, 0xDEADBEEF, 0xDEADBEEF, 0, 0]
    assert (vector.signature_start, vector.signature_end, vector.tohost) == (
        RAM_BASE + 8, RAM_BASE + 16, RAM_BASE + 16)


def test_dump_reads_back_to_the_same_vector(tmp_path: Path) -> None:
    original = Vector.from_words("round", list(range(16)), RAM_BASE, entry=RAM_BASE + 4,
                                 signature_start=RAM_BASE + 32, signature_end=RAM_BASE + 48,
                                 tohost=RAM_BASE + 48, max_steps=123)
    again = load_vectors(write_hex(original, tmp_path / "round.hex"))[0]
    assert again == original
    assert again.content_hash == original.content_hash
    assert original.content_hash in dump_hex(original)


@pytest.mark.parametrize(("text", "line", "says"), [
    (HEADER + ".origin 0x0\n" + WORDS, 7, "unknown directive '.origin' — use one of: .name"),
    (HEADER + WORDS + "0000zz13\n", 11, "'0000zz13' is not a 32-bit hex word — write each word"),
    (HEADER + "123456789\n", 7, "'123456789' is not a 32-bit hex word"),
    (HEADER + WORDS + ".entry 0x80000004\n", 11, ".entry comes after the first word — move directives"),
    (HEADER + ".tohost 0x80000000\n" + WORDS, 7, ".tohost given twice (first on line 5)"),
    (HEADER.replace(".max_steps 50\n", "") + WORDS, 1, "missing directive .max_steps — add a line "
                                                       "'.max_steps 20000'"),
    (HEADER.replace("0x80000010\n", "0x80000010 0x80000020\n", 1) + WORDS, 4,
     ".signature takes 2 value(s), got 3"),
    (HEADER.replace(".max_steps 50", ".max_steps many") + WORDS, 6, "'many' is not a number"),
    (HEADER, 6, "no program words"),
    (HEADER.replace(".tohost 0x80000010", ".tohost 0x80000100") + WORDS, 6,
     "tohost at 0x80000100 lies outside the image"),
])
def test_each_mistake_is_one_line_with_file_line_and_fix(
    tmp_path: Path, text: str, line: int, says: str,
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_hex(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: ")
    assert says in message
    assert "\n" not in message


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such hex vector file — check the path"):
        load_hex(tmp_path / "absent.hex")
