"""Colours of step and run outcomes, shared by the live and history screens."""

from __future__ import annotations

from rich.text import Text

STATUS_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red", "aborted": "yellow",
                "skipped": "dim", "running": "cyan", "pending": "dim", "interrupted": "magenta"}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))
