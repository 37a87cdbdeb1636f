"""Shared checks for the one-line `file:line: what — fix` errors of station and runbook files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bringup.yamlfile import ConfigError, ConfigErrors


def variant(example: Path, folder: Path, old: str, new: str) -> Path:
    """A copy of `example` with the first `old` replaced by `new`: one user mistake."""
    text = example.read_text()
    assert old in text, old
    path = folder / example.name
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, needle: str) -> int:
    """Line where `needle` (which may span lines) starts."""
    text = path.read_text()
    assert needle in text, needle
    start = text.index(needle)
    return text.count("\n", 0, text.rfind("\n", 0, start) + 1) + 1


def first_error(load: Callable[[Path], Any], path: Path) -> str:
    with pytest.raises((ConfigErrors, ConfigError)) as caught:
        load(path)
    errors = caught.value.errors if isinstance(caught.value, ConfigErrors) else [caught.value]
    return str(errors[0])


def assert_one_line_error(text: str, path: Path, where: str, words: list[str]) -> None:
    """One line, starting with the file and the line holding `where`, with every word and a fix."""
    assert "\n" not in text
    assert text.startswith(f"{path}:{line_of(path, where)}: "), text
    for word in words:
        assert word in text, text
    assert " — " in text, f"no fix offered: {text}"
