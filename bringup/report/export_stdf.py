"""A run as STDF V4, the test-data format every semiconductor analysis tool reads.

A small writer of our own (the records we need are fixed-layout and few; the maintained
Python STDF writers either pull heavy dependencies or lag the spec). Byte order is little
endian (CPU_TYPE 2). One run is one part on head 1, site 1:

FAR, MIR (lot, part type = runbook, node = station, operator, start time, temperature),
WIR (when the wafer is known), PIR, one PTR per measurement (limits and units; the first PTR of
a test number carries its limits), one FTR per vector execution (pass/fail, the first failing
address in REL_VADR, the count of failing words in NUM_FAIL, the flipped-bit mask in
RSLT_TXT), PRR (bin, die X/Y, chip serial), WRR, TSR per test, HBR and SBR, MRR.

Bins: 1 passed, 2 failed, 3 anything else (aborted, interrupted, error).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from bringup.history import RunRecord

HEAD, SITE, ALL_HEADS = 1, 1, 255
PASS_BIN, FAIL_BIN, OTHER_BIN = 1, 2, 3
BIN_NAMES = {PASS_BIN: "PASS", FAIL_BIN: "FAIL", OTHER_BIN: "INCOMPLETE"}
VECTOR_TEST_BASE = 100_000  # functional tests are numbered apart from parametric ones
MISSING_COORD = -32768

# PTR.OPT_FLAG: bit 1 is reserved and set, bits 2/3 say there are no spec limits (we keep none),
# bits 6/7 say there is no low / high test limit.
PTR_OPT_BASE = 0b0000_1110
PTR_NO_LOW, PTR_NO_HIGH = 0x40, 0x80
# FTR.OPT_FLAG: bits 6/7 reserved (set); bit n set = that field invalid. A failure keeps
# REL_VADR (bit 1) and NUM_FAIL (bit 3) valid when known.
FTR_ALL_INVALID = 0xFF
FTR_REL_VADR, FTR_NUM_FAIL = 0x02, 0x08
# TSR.OPT_FLAG: TEST_TIM, TST_SUMS, TST_SQRS invalid (bits 2, 4, 5; bit 3 reserved, set).
TSR_MIN_MAX_VALID = 0b0011_1100
TSR_NONE_VALID = 0xFF


def bin_of(status: str) -> int:
    return {"passed": PASS_BIN, "failed": FAIL_BIN}.get(status, OTHER_BIN)


def ascii_units(units: str) -> str:
    """STDF strings are 8-bit; units are written as the SI symbols tools expect ("°C" -> "C")."""
    return units.replace("°", "").encode("ascii", "replace").decode("ascii")


class _Record:
    """One record's fields, packed little-endian in order."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u1(self, v: int) -> _Record:
        return self._add("<B", v)

    def u2(self, v: int) -> _Record:
        return self._add("<H", min(v, 0xFFFF))

    def u4(self, v: int) -> _Record:
        return self._add("<I", v & 0xFFFFFFFF)

    def i1(self, v: int) -> _Record:
        return self._add("<b", v)

    def i2(self, v: int) -> _Record:
        return self._add("<h", v)

    def i4(self, v: int) -> _Record:
        return self._add("<i", v)

    def r4(self, v: float) -> _Record:
        return self._add("<f", v)

    def c1(self, v: str) -> _Record:
        return self._add("<c", (v or " ").encode("latin-1")[:1])

    def cn(self, v: str | None) -> _Record:
        data = (v or "").encode("latin-1", "replace")[:255]
        self._parts.append(bytes([len(data)]) + data)
        return self

    def dn_empty(self) -> _Record:
        return self.u2(0)

    def _add(self, fmt: str, v: Any) -> _Record:
        self._parts.append(struct.pack(fmt, v))
        return self

    def bytes(self, typ: int, sub: int) -> bytes:
        body = b"".join(self._parts)
        if len(body) > 0xFFFF:
            raise ValueError(f"STDF record {typ}/{sub} longer than 65535 bytes")
        return struct.pack("<HBB", len(body), typ, sub) + body


def _far() -> bytes:
    return _Record().u1(2).u1(4).bytes(0, 10)


def _mir(record: RunRecord) -> bytes:
    run = record.run
    started = int(run.started_at)
    temperatures = {m.temperature_c for m in record.measurements if m.temperature_c is not None}
    temperature = f"{temperatures.pop():g}" if len(temperatures) == 1 else ""
    r = _Record().u4(started).u4(started).u1(1).c1("D").c1(" ").c1(" ").u2(65535).c1(" ")
    r.cn(run.lot or "").cn(run.runbook).cn(run.station).cn("bringup").cn(run.runbook).cn("")
    r.cn("").cn(run.operator).cn("bringup").cn(record.software_version).cn("").cn(temperature)
    r.cn(f"run {run.id}")
    for _ in range(17):  # AUX_FILE .. SUPR_NAM: not known to a bring-up bench
        r.cn("")
    return r.bytes(1, 10)


def _ptr(test_num: int, m: Any, first: bool) -> bytes:
    flags = 0 if m.passed is None else (0x80 if not m.passed else 0)
    if m.passed is None:
        flags |= 0x40  # completed without a pass/fail indication (no limits)
    if math.isnan(m.value):
        flags |= 0x02  # result is unreliable
    opt = PTR_OPT_BASE | (PTR_NO_LOW if m.low is None else 0) | (PTR_NO_HIGH if m.high is None else 0)
    if not first:
        opt |= 0x30  # limits as in this test's first PTR
    r = _Record().u4(test_num).u1(HEAD).u1(SITE).u1(flags).u1(0).r4(m.value).cn(m.name).cn("")
    r.u1(opt).i1(0).i1(0).i1(0).r4(m.low or 0.0).r4(m.high or 0.0).cn(ascii_units(m.units))
    r.cn("").cn("").cn("").r4(0.0).r4(0.0)
    return r.bytes(15, 10)


def _ftr(test_num: int, v: Any, failing: Any | None) -> bytes:
    opt = FTR_ALL_INVALID
    words_failing = 0
    if failing is not None:
        words_failing = sum(e != a for e, a in zip(failing.expected, failing.actual, strict=False))
        opt &= ~FTR_NUM_FAIL
        if v.first_mismatch_addr is not None:
            opt &= ~FTR_REL_VADR
    r = _Record().u4(test_num).u1(HEAD).u1(SITE).u1(0 if v.passed else 0x80).u1(opt)
    r.u4(0).u4(v.first_mismatch_addr or 0).u4(1).u4(words_failing).i4(0).i4(0).i2(0)
    r.u2(0).u2(0).dn_empty().cn(v.vector_name).cn("").cn("").cn(v.vector_name).cn("").cn("")
    r.cn("" if v.passed else f"flipped bits 0x{v.flipped_bits:08x}").u1(255).dn_empty()
    return r.bytes(15, 20)


def _prr(record: RunRecord, tests: int, part_bin: int) -> bytes:
    run = record.run
    flags = 0 if run.status == "passed" else (0x08 if run.status == "failed" else 0x04 | 0x10)
    elapsed_ms = int(((run.ended_at or run.started_at) - run.started_at) * 1000)
    x = MISSING_COORD if record.die_x is None else record.die_x
    y = MISSING_COORD if record.die_y is None else record.die_y
    r = _Record().u1(HEAD).u1(SITE).u1(flags).u2(tests).u2(part_bin).u2(part_bin).i2(x).i2(y)
    r.u4(elapsed_ms).cn(run.chip_serial).cn(run.reason[:255]).u1(0)  # PART_FIX: empty Bn
    return r.bytes(5, 20)


def _tsr(kind: str, test_num: int, name: str, executed: int, failed: int, values: list[float]) -> bytes:
    finite = [v for v in values if not math.isnan(v)]
    opt = TSR_MIN_MAX_VALID if finite else TSR_NONE_VALID
    r = _Record().u1(ALL_HEADS).u1(0).c1(kind).u4(test_num).u4(executed).u4(failed).u4(0)
    r.cn(name).cn("").cn("").u1(opt).r4(0.0).r4(min(finite, default=0.0)).r4(max(finite, default=0.0))
    r.r4(0.0).r4(0.0)
    return r.bytes(10, 30)


def _bin_record(sub: int, number: int, count: int) -> bytes:
    verdict = "P" if number == PASS_BIN else "F"
    return _Record().u1(ALL_HEADS).u1(0).u2(number).u4(count).c1(verdict).cn(BIN_NAMES[number]).bytes(1, sub)


def test_numbers(record: RunRecord) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """Test numbers: measurements by (step, name) from 1, vectors by (step, name) from 100000."""
    parametric: dict[tuple[int, str], int] = {}
    for m in record.measurements:
        parametric.setdefault((m.step_index, m.name), len(parametric) + 1)
    functional: dict[tuple[int, str], int] = {}
    for v in record.vectors:
        functional.setdefault((v.step_index, v.vector_name), VECTOR_TEST_BASE + len(functional))
    return parametric, functional


def stdf_records(record: RunRecord) -> Iterable[bytes]:
    run = record.run
    parametric, functional = test_numbers(record)
    part_bin = bin_of(run.status)
    yield _far()
    yield _mir(record)
    if record.wafer is not None:
        yield _Record().u1(HEAD).u1(255).u4(int(run.started_at)).cn(str(record.wafer)).bytes(2, 10)
    yield _Record().u1(HEAD).u1(SITE).bytes(5, 10)
    seen: set[int] = set()
    stats: dict[int, tuple[str, str, list[float], list[bool]]] = {}
    for m in record.measurements:
        number = parametric[(m.step_index, m.name)]
        yield _ptr(number, m, number not in seen)
        seen.add(number)
        entry = stats.setdefault(number, ("P", m.name, [], []))
        entry[2].append(m.value)
        entry[3].append(m.passed is False)
    failing = {(f.step_index, f.vector_name, f.repeat): f for f in record.failing_vectors}
    for v in record.vectors:
        number = functional[(v.step_index, v.vector_name)]
        yield _ftr(number, v, failing.get((v.step_index, v.vector_name, v.repeat)))
        entry = stats.setdefault(number, ("F", v.vector_name, [], []))
        entry[3].append(not v.passed)
    executed = len(record.measurements) + len(record.vectors)
    yield _prr(record, executed, part_bin)
    if record.wafer is not None:
        good = 1 if part_bin == PASS_BIN else 0
        finished = int(run.ended_at or run.started_at)
        r = _Record().u1(HEAD).u1(255).u4(finished).u4(1).u4(0).u4(0).u4(good).u4(0)
        yield r.cn(str(record.wafer)).cn("").cn("").cn("").cn("").cn("").bytes(2, 20)
    for number, (kind, name, values, failures) in sorted(stats.items()):
        yield _tsr(kind, number, name, len(failures), sum(failures), values)
    yield _bin_record(40, part_bin, 1)
    yield _bin_record(50, part_bin, 1)
    finished = int(run.ended_at or run.started_at)
    yield _Record().u4(finished).c1(" ").cn(run.status).cn(run.reason[:255]).bytes(1, 20)


def write_stdf(record: RunRecord, out: str | Path | BinaryIO) -> None:
    if isinstance(out, str | Path):
        with open(out, "wb") as stream:
            write_stdf(record, stream)
        return
    for chunk in stdf_records(record):
        out.write(chunk)
