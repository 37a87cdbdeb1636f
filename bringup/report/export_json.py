"""A run as one JSON document: the run, its chip, station and instruments, steps, every result.

The shape follows bringup.history.RunRecord field by field (dataclasses as objects), so a
program reading the export and one calling the Python API see the same names.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, TextIO

from bringup.history import RunRecord

FORMAT_VERSION = 1


def document(record: RunRecord) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    return {"format": "bringup-run", "version": FORMAT_VERSION, **_finite(data)}


def _finite(value: Any) -> Any:
    """NaN and infinities as null: JSON has no such numbers and strict readers refuse them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_json(record: RunRecord, out: str | Path | TextIO) -> None:
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8") as stream:
            write_json(record, stream)
        return
    json.dump(document(record), out, indent=1, ensure_ascii=False)
    out.write("\n")
