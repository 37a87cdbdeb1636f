"""How an exception reads to a person: one line, never a traceback, never empty."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def first_line(exc: BaseException) -> str:
    """The first line of the exception's message, or its type's name when it has none."""
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]


def described(exc: BaseException) -> str:
    """`TypeName: first line`, for reasons recorded with a run."""
    return f"{type(exc).__name__}: {first_line(exc)}"


def attempt(action: Callable[[], Any]) -> str | None:
    """Run `action`; the first line of what went wrong, or None (a power-down goes on past it)."""
    try:
        action()
    except Exception as exc:
        return first_line(exc)
    return None
