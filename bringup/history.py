"""Printing history query results for people: tables on a terminal, plain rows in a pipe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def print_rows(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, no_wrap=index == 0)  # ids must stay whole to be copied
    count = 0
    for row in rows:
        table.add_row(*("-" if cell is None else str(cell) for cell in row))
        count += 1
    out = Console()
    if count:
        out.print(table)
    else:
        out.print(f"{title}: nothing recorded")
