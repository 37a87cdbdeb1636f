"""A run's results as one CSV table: measurements, then vector results, one row each.

Columns are the same for both kinds (a field that does not apply is empty), so a spreadsheet
or ``csv.DictReader`` reads the whole run at once. Times are epoch seconds (UTC).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from bringup.history import RunRecord

COLUMNS = (
    "run", "chip", "kind", "step", "name", "repeat", "value", "units", "low", "high", "passed",
    "first_mismatch_addr", "flipped_bits", "vdd_core_v", "core_mhz", "temperature_c", "time",
)  # fmt: skip


def rows(record: RunRecord) -> list[list[object]]:
    run = record.run
    out: list[list[object]] = []
    for m in record.measurements:
        out.append([run.id, run.chip_serial, "measurement", m.step_index, m.name, "", repr(m.value), m.units,
                    _num(m.low), _num(m.high), _flag(m.passed), "", "", _num(m.vdd_core_v), _num(m.core_mhz),
                    _num(m.temperature_c), repr(m.time)])  # fmt: skip
    for v in record.vectors:
        address = "" if v.first_mismatch_addr is None else f"0x{v.first_mismatch_addr:08x}"
        out.append([run.id, run.chip_serial, "vector", v.step_index, v.vector_name, v.repeat, "", "", "", "",
                    _flag(v.passed), address, f"0x{v.flipped_bits:08x}", _num(v.vdd_core_v), _num(v.core_mhz),
                    _num(v.temperature_c), repr(v.time)])  # fmt: skip
    return out


def _num(value: float | None) -> str:
    return "" if value is None else repr(value)


def _flag(passed: bool | None) -> str:
    return "" if passed is None else ("pass" if passed else "fail")


def write_csv(record: RunRecord, out: str | Path | TextIO) -> None:
    if isinstance(out, str | Path):
        with open(out, "w", newline="", encoding="utf-8") as stream:
            write_csv(record, stream)
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(record))
