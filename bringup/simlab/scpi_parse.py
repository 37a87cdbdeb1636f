"""SCPI command parsing shared by every simulated instrument.

Headers match the way real instruments match them: each node accepts exactly its short form
(the upper-case letters of the mnemonic) or its long form, case-insensitively; optional nodes
(`[SOURce]`) may be left out; a node marked `#` takes a numeric suffix (`SOUR2`, `OUTP1`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

ERROR_TEXT = {
    -100: "Command error",
    -102: "Syntax error",
    -113: "Undefined header",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -350: "Queue overflow",
}


class ScpiError(Exception):
    """A command an instrument rejects; the server pushes `code` onto the error queue."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code},{ERROR_TEXT.get(code, 'Error')}: {detail}")


@dataclass(frozen=True)
class _Node:
    short: str
    long: str
    optional: bool
    suffix: bool

    def match(self, token: str) -> tuple[bool, int | None]:
        number: int | None = None
        if self.suffix:
            digits = re.search(r"\d+$", token)
            if digits:
                number = int(digits.group())
                token = token[: digits.start()]
        return token in (self.short, self.long), number


def _parse_pattern(pattern: str) -> tuple[tuple[_Node, ...], bool]:
    query = pattern.endswith("?")
    nodes = []
    for part in pattern.rstrip("?").split(":"):
        optional = part.startswith("[")
        part = part.strip("[]")
        suffix = part.endswith("#")
        part = part.rstrip("#")
        short = "".join(ch for ch in part if not ch.islower())
        nodes.append(_Node(short.upper(), part.upper(), optional, suffix))
    return tuple(nodes), query


Handler = Callable[["Command"], "str | None"]


@dataclass(frozen=True)
class Command:
    """One parsed command: its numeric header suffixes and its parameter tokens."""

    header: str
    query: bool
    params: tuple[str, ...]
    suffixes: tuple[int | None, ...]

    def suffix(self, default: int) -> int:
        """The first numeric suffix given in the header, else `default`."""
        return next((n for n in self.suffixes if n is not None), default)

    def param_count(self, low: int, high: int | None = None) -> None:
        high = low if high is None else high
        if not low <= len(self.params) <= high:
            raise ScpiError(-102, f"{self.header} takes {low}-{high} parameters")


class CommandTable:
    """Header patterns mapped to handlers, e.g. `table.add("[SOURce#]:VOLTage?", fn)`."""

    def __init__(self) -> None:
        self._entries: list[tuple[tuple[_Node, ...], bool, Handler]] = []

    def add(self, pattern: str, handler: Handler) -> None:
        nodes, query = _parse_pattern(pattern)
        self._entries.append((nodes, query, handler))

    def lookup(self, header: str) -> tuple[Handler, tuple[int | None, ...]] | None:
        query = header.endswith("?")
        tokens = header.rstrip("?").lstrip(":").upper().split(":")
        for nodes, is_query, handler in self._entries:
            if is_query != query:
                continue
            suffixes = _match(nodes, tokens)
            if suffixes is not None:
                return handler, suffixes
        return None


def _match(nodes: tuple[_Node, ...], tokens: list[str]) -> tuple[int | None, ...] | None:
    if not nodes:
        return () if not tokens else None
    node, rest = nodes[0], nodes[1:]
    if tokens:
        matched, number = node.match(tokens[0])
        if matched:
            tail = _match(rest, tokens[1:])
            if tail is not None:
                return (number, *tail)
    return _match(rest, tokens) if node.optional else None


def split_commands(line: str) -> list[str]:
    """Split `A;B` into commands, leaving `;` inside quotes alone."""
    parts, current, quote = [], [], ""
    for ch in line:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ";":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def parse_command(text: str) -> tuple[str, tuple[str, ...]]:
    """`VOLT 1.2,(@1)` -> (`VOLT`, (`1.2`, `(@1)`)); commas inside `(...)` stay together."""
    header, _, rest = text.strip().partition(" ")
    return header, split_params(rest)


def split_params(text: str) -> tuple[str, ...]:
    params, current, depth = [], [], 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            params.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    last = "".join(current).strip()
    if last or params:
        params.append(last)
    return tuple(params)


def parse_number(token: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise ScpiError(-224, f"{token!r} is not a number") from None


def parse_bool(token: str) -> bool:
    value = token.strip().upper()
    if value in ("ON", "1"):
        return True
    if value in ("OFF", "0"):
        return False
    raise ScpiError(-224, f"{token!r} is not ON, OFF, 1 or 0")


_CHANNEL_LIST = re.compile(r"^\(@([\d,:\s]+)\)$")


def parse_channel_list(token: str, valid: range) -> list[int]:
    """`(@1)`, `(@1,2)`, `(@1:3)` or `(@1,2:3)` -> channel numbers, each checked against `valid`."""
    found = _CHANNEL_LIST.match(token.replace(" ", ""))
    if not found:
        raise ScpiError(-102, f"{token!r} is not a channel list like (@1,2)")
    channels: list[int] = []
    for item in found.group(1).split(","):
        first, _, last = item.partition(":")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise ScpiError(-102, f"bad channel range {item!r}") from None
        channels.extend(range(low, high + 1))
    for channel in channels:
        if channel not in valid:
            raise ScpiError(-222, f"channel {channel} does not exist")
    return channels


def scpi_float(value: float) -> str:
    """The NR3 format Keysight instruments answer with: `+8.00000000E-01`."""
    return f"{value:+.8E}"
