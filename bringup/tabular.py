"""Rows out of `bringup query`: a table for people, CSV or JSON for programs, streamed.

Nothing here builds the whole result in memory: rows arrive from an iterator and leave as
lines. A table's column widths come from its first rows; a longer value later widens only its
own line, it is never cut. On a terminal a long table goes through the pager; in a pipe it is
written straight out at full width (no wrapping at 80 columns).
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import math
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

import click

FORMATS = ("table", "csv", "json")
WIDTH_SAMPLE_ROWS = 500  # rows looked at to size the columns before streaming the rest


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def table_lines(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The title, a header and one aligned line per row; `title: nothing recorded` when empty."""
    it = iter(rows)
    head = [[_cell(c) for c in row] for row in itertools.islice(it, WIDTH_SAMPLE_ROWS)]
    if not head:
        yield f"{title}: nothing recorded"
        return
    widths = [max(len(columns[i]), *(len(r[i]) for r in head)) for i in range(len(columns))]

    # One format string for every line: a wider value later pushes only its own line out.
    template = "  ".join(f"{{:<{w}}}" for w in widths)

    def line(cells: Sequence[str]) -> str:
        return template.format(*cells).rstrip()

    yield title
    yield line(list(columns))
    yield line(["─" * w for w in widths])
    for cells in head:
        yield line(cells)
    for row in it:
        yield line([_cell(c) for c in row])


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """RFC 4180 CSV with a header; None is an empty field, floats keep full precision."""
    buffer = _LineBuffer()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    yield buffer.take()
    for row in rows:
        writer.writerow(["" if c is None else c for c in row])
        yield buffer.take()


def json_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A JSON array of objects keyed by column name, one object a line."""
    first = True
    yield "["
    for row in rows:
        # JSON has no NaN or infinity: strict readers refuse them, so they go out as null.
        values = (None if isinstance(v, float) and not math.isfinite(v) else v for v in row)
        record = json.dumps(dict(zip(columns, values, strict=True)), default=str, ensure_ascii=False)
        yield ("  " if first else ", ") + record
        first = False
    yield "]"


class _LineBuffer:
    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> None:
        self._parts.append(text)

    def take(self) -> str:
        text = "".join(self._parts).removesuffix("\n")
        self._parts.clear()
        return text


def emit(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    output_format: str = "table",
    out: TextIO | None = None,
) -> None:
    """Write `rows` in the chosen format, paging a long table on a terminal."""
    out = out or sys.stdout
    if output_format == "csv":
        lines = csv_lines(columns, rows)
    elif output_format == "json":
        lines = json_lines(columns, rows)
    else:
        lines = table_lines(title, columns, rows)
    write_lines(lines, out, page=output_format == "table")


def write_lines(lines: Iterable[str], out: TextIO, *, page: bool) -> None:
    it = iter(lines)
    if page and out is sys.stdout and out.isatty():
        screen = shutil.get_terminal_size().lines - 1
        first = list(itertools.islice(it, screen))
        if len(first) >= screen:  # longer than a screen: let the pager pull the rest lazily
            click.echo_via_pager(f"{line}\n" for line in itertools.chain(first, it))
            return
        it = iter(first)
    try:
        for line in it:
            out.write(line + "\n")
        out.flush()
    except BrokenPipeError:  # `| head` closed the pipe: that is the reader's choice, not an error
        _silence_broken_stdout()


def _silence_broken_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
