"""Limit checking, decided once where a value is taken (never re-derived later)."""

from __future__ import annotations


def within(value: float, low: float | None, high: float | None) -> bool | None:
    """True inside [low, high], False outside (NaN always fails), None when no limit is set."""
    if low is None and high is None:
        return None
    return (low is None or value >= low) and (high is None or value <= high)
