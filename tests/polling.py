"""Waiting on a condition in tests: poll it, fail with what was awaited after a deadline.

Never a fixed sleep standing in for the condition; the short poll interval only bounds how
late we notice it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.01


def wait_until(condition: Callable[[], T], timeout: float = 5.0, what: str = "") -> T:
    """Poll `condition` until it returns something true and return that; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(POLL_S)
