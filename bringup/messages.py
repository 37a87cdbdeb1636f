"""How an exception reads to a person: one line, never a traceback, never empty."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of the exception's message, or its type's name when it has none."""
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]


def described(exc: BaseException) -> str:
    """`TypeName: first line`, for reasons recorded with a run."""
    return f"{type(exc).__name__}: {first_line(exc)}"
