"""Hex-word vector files: a few directives, then the image as 32-bit words.

Format (one vector per file; `#` starts a comment anywhere)::

    # bringup hex vector
    .name       random-7-0
    .load       0x80000000          # address of the first word (required)
    .entry      0x80000000          # where execution starts (default: .load)
    .signature  0x80000400 0x80000480   # [start, end) of the result signature (required)
    .tohost     0x80000200          # HTIF tohost word (required)
    .max_steps  20000               # step budget (required)
    00000297 0102a303               # words, 1-8 hex digits each, little-endian in memory,
    deadbeef                        # at consecutive addresses from .load

Directives come before the first word; numbers in directives are decimal or 0x-prefixed hex.
"""

from __future__ import annotations

import re
from pathlib import Path

from bringup.vectors.model import Vector, VectorError
from bringup.yamlfile import ConfigError, read_text

# The chip's 64 KiB RAM is 16,384 words, ~150 KiB of hex; generous room for comments.
MAX_HEX_BYTES = 4 * 1024 * 1024
_WORD = re.compile(r"[0-9a-fA-F]{1,8}")
_DIRECTIVES = {
    ".name": 1, ".load": 1, ".entry": 1, ".signature": 2, ".tohost": 1, ".max_steps": 1,
}
_REQUIRED = (".load", ".signature", ".tohost", ".max_steps")
_EXAMPLE = {
    ".load": ".load 0x80000000", ".signature": ".signature 0x80000400 0x80000480",
    ".tohost": ".tohost 0x80000200", ".max_steps": ".max_steps 20000",
}


def load_hex(path: str | Path) -> Vector:
    """Read a hex-word vector; a mistake raises ConfigError naming the file, line and fix."""
    path = Path(path)
    text = read_text(path, what="hex vector file", limit=MAX_HEX_BYTES, encoding="ascii")
    directives: dict[str, tuple[list[str], int]] = {}
    words: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        if tokens[0].startswith("."):
            _read_directive(path, number, tokens, directives, words)
        else:
            words.extend(_read_word(path, number, token) for token in tokens)
    return _build(path, directives, words)


def _read_directive(
    path: Path, line: int, tokens: list[str], directives: dict[str, tuple[list[str], int]], words: list[int],
) -> None:
    name, args = tokens[0], tokens[1:]
    if name not in _DIRECTIVES:
        raise ConfigError(path, line, f"unknown directive '{name[:24]}'",
                          f"use one of: {', '.join(_DIRECTIVES)}")
    if words:
        raise ConfigError(path, line, f"{name} comes after the first word", "move directives to the top")
    if name in directives:
        raise ConfigError(path, line, f"{name} given twice (first on line {directives[name][1]})",
                          "keep one of them")
    if len(args) != _DIRECTIVES[name]:
        raise ConfigError(path, line, f"{name} takes {_DIRECTIVES[name]} value(s), got {len(args)}",
                          f"write it as: {_EXAMPLE.get(name, name + ' VALUE')}")
    directives[name] = (args, line)


def _read_word(path: Path, line: int, token: str) -> int:
    if not _WORD.fullmatch(token):
        raise ConfigError(path, line, f"'{token[:24]}' is not a 32-bit hex word",
                          "write each word as 1 to 8 hex digits without 0x, e.g. 00000013")
    return int(token, 16)


def _build(path: Path, directives: dict[str, tuple[list[str], int]], words: list[int]) -> Vector:
    last_line = max((line for _, line in directives.values()), default=1)
    for name in _REQUIRED:
        if name not in directives:
            raise ConfigError(path, 1, f"missing directive {name}", f"add a line '{_EXAMPLE[name]}'")
    if not words:
        raise ConfigError(path, last_line, "no program words",
                          "add the image as hex words after the directives")
    load = _number(path, directives, ".load")
    bounds, line = directives[".signature"]
    start, end = (_parse_number(path, line, text) for text in bounds)
    try:
        return Vector.from_words(
            directives[".name"][0][0] if ".name" in directives else path.stem,
            words,
            load,
            entry=_number(path, directives, ".entry") if ".entry" in directives else load,
            signature_start=start,
            signature_end=end,
            tohost=_number(path, directives, ".tohost"),
            max_steps=_number(path, directives, ".max_steps"),
            source=str(path),
        )
    except VectorError as exc:
        raise ConfigError(path, last_line, str(exc)) from None


def _number(path: Path, directives: dict[str, tuple[list[str], int]], name: str) -> int:
    args, line = directives[name]
    return _parse_number(path, line, args[0])


def _parse_number(path: Path, line: int, text: str) -> int:
    try:
        if len(text) > 24:  # a 64-bit number in binary with its prefix; longer is a typo
            raise ValueError(text)
        return int(text, 0)
    except ValueError:
        shown = text if len(text) <= 24 else f"{text[:21]}..."
        raise ConfigError(path, line, f"'{shown}' is not a number (at most 24 characters)",
                          "write it in decimal or as 0x-prefixed hex") from None


def dump_hex(vector: Vector) -> str:
    """The hex-word text of `vector`, which `load_hex` reads back to an equal vector."""
    header = [
        "# bringup hex vector (format: bringup/vectors/hexfile.py)",
        f"# content hash {vector.content_hash}",
        f".name {vector.name}",
        f".load {vector.load_address:#010x}",
        f".entry {vector.entry:#010x}",
        f".signature {vector.signature_start:#010x} {vector.signature_end:#010x}",
        f".tohost {vector.tohost:#010x}",
        f".max_steps {vector.max_steps}",
    ]
    words = vector.words
    if len(vector.image) % 4:
        raise VectorError(f"vector '{vector.name}': its image is not whole words — pad it to 4 bytes")
    rows = [" ".join(f"{word:08x}" for word in words[i : i + 8]) for i in range(0, len(words), 8)]
    return "\n".join(header + rows) + "\n"


def write_hex(vector: Vector, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(dump_hex(vector), encoding="ascii")
    return path
