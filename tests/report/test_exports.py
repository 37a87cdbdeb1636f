"""`bringup export`: STDF V4 read back by two independent readers, CSV and JSON, all against the database."""

from __future__ import annotations

import csv
import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bringup import history
from bringup.cli import main

pystdf_io = pytest.importorskip("pystdf.IO", reason="pystdf is in the test extra: pip install -e '.[test]'")
stdf_convert = pytest.importorskip("stdf_convert", reason="stdf-convert is in the test extra")


def export(recorded_run: Any, tmp_path: Path, fmt: str) -> Path:
    out = tmp_path / f"run.{fmt}"
    result = CliRunner().invoke(main, ["export", recorded_run.run_id, "--format", fmt, "--out", str(out),
                                       "--db", recorded_run.db_url])
    assert result.exit_code == 0, result.output
    return out


def f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def read_with_pystdf(path: Path) -> list[tuple[str, dict[str, Any]]]:
    records: list[tuple[str, dict[str, Any]]] = []

    class Sink:
        def after_begin(self, _source: Any) -> None: ...
        def after_complete(self, _source: Any) -> None: ...

        def after_send(self, _source: Any, data: Any) -> None:
            record_type, fields = data
            records.append((type(record_type).__name__.upper(), dict(zip(record_type.fieldNames, fields,
                                                                         strict=True))))

    with path.open("rb") as stream:
        parser = pystdf_io.Parser(inp=stream)
        parser.addSink(Sink())
        parser.parse()
    return records


def read_with_stdf_convert(path: Path) -> dict[str, list[dict[str, Any]]]:
    return {name: table.to_pylist() for name, table in stdf_convert.tables(str(path)).items()}


def by_type(records: list[tuple[str, dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [fields for name, fields in records if name == kind]


def flag(value: Any) -> int:
    """A B1 field as an int, whichever way a reader hands it over (int, bytes, list of bits)."""
    if isinstance(value, bytes):
        return value[0]
    return int(value)


@pytest.fixture
def stdf(recorded_run: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    path = export(recorded_run, tmp_path, "stdf")
    py = read_with_pystdf(path)
    captured = capsys.readouterr()
    assert "Unprocessed" not in captured.out + captured.err  # pystdf found every record the right length
    record = history.run_record(recorded_run.run_id, db=recorded_run.db_url)
    assert record is not None
    return {"pystdf": py, "convert": read_with_stdf_convert(path), "record": record}


def test_stdf_has_the_records_in_order(stdf: dict[str, Any]) -> None:
    names = [name for name, _ in stdf["pystdf"]]

    assert names[:4] == ["FAR", "MIR", "WIR", "PIR"]
    assert names[-1] == "MRR"
    for required in ("PTR", "FTR", "PRR", "WRR", "TSR", "HBR", "SBR"):
        assert required in names
    assert set(stdf["convert"]) == set(names)


def test_stdf_measurements_equal_the_database_in_both_readers(stdf: dict[str, Any]) -> None:
    measurements = stdf["record"].measurements
    py_ptrs = by_type(stdf["pystdf"], "PTR")
    rust_ptrs = stdf["convert"]["PTR"]

    assert len(py_ptrs) == len(rust_ptrs) == len(measurements) == 3
    for m, py, rust in zip(measurements, py_ptrs, rust_ptrs, strict=True):
        for reader in (py, rust):
            assert reader["TEST_TXT"] == m.name
            assert reader["RESULT"] == pytest.approx(f32(m.value), rel=1e-7)
            assert reader["UNITS"] == m.units.replace("°", "")
            opt = flag(reader["OPT_FLAG"])
            assert bool(opt & 0x40) == (m.low is None) and bool(opt & 0x80) == (m.high is None)
            if m.low is not None:
                assert reader["LO_LIMIT"] == pytest.approx(f32(m.low))
            if m.high is not None:
                assert reader["HI_LIMIT"] == pytest.approx(f32(m.high))
            failed = bool(flag(reader["TEST_FLG"]) & 0x80)
            assert failed == (m.passed is False)


def test_stdf_vectors_equal_the_database_in_both_readers(stdf: dict[str, Any]) -> None:
    vectors = stdf["record"].vectors
    failing = {(f.step_index, f.vector_name): f for f in stdf["record"].failing_vectors}
    py_ftrs = by_type(stdf["pystdf"], "FTR")
    rust_ftrs = stdf["convert"]["FTR"]

    assert len(py_ftrs) == len(rust_ftrs) == len(vectors) == 16
    assert sum(not v.passed for v in vectors) == 12
    for v, py, rust in zip(vectors, py_ftrs, rust_ftrs, strict=True):
        for reader in (py, rust):
            assert reader["VECT_NAM"] == v.vector_name
            assert bool(flag(reader["TEST_FLG"]) & 0x80) == (not v.passed)
            if not v.passed:
                f = failing[(v.step_index, v.vector_name)]
                assert not flag(reader["OPT_FLAG"]) & 0x02  # REL_VADR valid
                assert reader["REL_VADR"] == v.first_mismatch_addr == f.first_mismatch_addr
                assert reader["NUM_FAIL"] == sum(e != a for e, a in zip(f.expected, f.actual, strict=True)) > 0
                assert reader["RSLT_TXT"] == f"flipped bits 0x{v.flipped_bits:08x}"


def test_stdf_part_lot_wafer_die_and_bins_equal_the_database(stdf: dict[str, Any]) -> None:
    record = stdf["record"]
    for prr in (by_type(stdf["pystdf"], "PRR")[0], stdf["convert"]["PRR"][0]):
        assert prr["PART_ID"] == "SIM-0001"
        assert (prr["X_COORD"], prr["Y_COORD"]) == (record.die_x, record.die_y) == (12, -4)
        assert prr["HARD_BIN"] == prr["SOFT_BIN"] == 2  # the run failed
        assert flag(prr["PART_FLG"]) & 0x08
        assert prr["NUM_TEST"] == len(record.measurements) + len(record.vectors)
    for mir in (by_type(stdf["pystdf"], "MIR")[0], stdf["convert"]["MIR"][0]):
        assert (mir["LOT_ID"], mir["PART_TYP"], mir["NODE_NAM"]) == ("LOT-7", "report-check", "simlab")
        assert mir["START_T"] == int(record.run.started_at)
    for wir in (by_type(stdf["pystdf"], "WIR")[0], stdf["convert"]["WIR"][0]):
        assert wir["WAFER_ID"] == "3"
    for hbr in (by_type(stdf["pystdf"], "HBR")[0], stdf["convert"]["HBR"][0]):
        assert (hbr["HBIN_NUM"], hbr["HBIN_CNT"], hbr["HBIN_PF"]) == (2, 1, "F")
    tsr_fails = {t["TEST_NAM"]: t["FAIL_CNT"] for t in stdf["convert"]["TSR"]}
    assert sum(tsr_fails.values()) == 12


def test_csv_export_has_one_row_per_result(recorded_run: Any, tmp_path: Path) -> None:
    record = history.run_record(recorded_run.run_id, db=recorded_run.db_url)
    with export(recorded_run, tmp_path, "csv").open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))

    assert len(rows) == len(record.measurements) + len(record.vectors)
    measured = [r for r in rows if r["kind"] == "measurement"]
    assert [(r["name"], float(r["value"])) for r in measured] == [(m.name, m.value) for m in record.measurements]
    failed = [r for r in rows if r["kind"] == "vector" and r["passed"] == "fail"]
    assert len(failed) == 12 and all(r["first_mismatch_addr"].startswith("0x8000") for r in failed)


def test_json_export_is_the_run_record(recorded_run: Any, tmp_path: Path) -> None:
    record = history.run_record(recorded_run.run_id, db=recorded_run.db_url)
    document = json.loads(export(recorded_run, tmp_path, "json").read_text(encoding="utf-8"))

    assert document["format"] == "bringup-run"
    assert document["summary"]["run"]["id"] == recorded_run.run_id
    assert [m["value"] for m in document["measurements"]] == [m.value for m in record.measurements]
    assert len(document["failing_vectors"]) == 12
    assert {i["idn"] for i in document["instruments"]} == {i.idn for i in record.instruments}
    assert all(math.isfinite(m["value"]) for m in document["measurements"])


def test_json_export_carries_the_runs_forcer_samples_in_recorded_order(tmp_path: Path) -> None:
    from bringup.db.engine import make_engine
    from bringup.db.recorder import Recorder
    from bringup.events import RunStatus, ThermalSample

    db_url = f"sqlite:///{tmp_path / 'lab.db'}"
    engine = make_engine(db_url)
    with Recorder(engine, stale_after_s=None) as recorder:
        run_id = recorder.start_run("SIM-0001")
        for forcer_c, settled, ts in ((40.5, False, 10.0), (84.9, True, 10.2)):
            recorder.handle(ThermalSample(run_id=run_id, setpoint_c=85.0, forcer_c=forcer_c, die_c=None,
                                          at_temperature=settled, head="down", ts=ts))
        recorder.finish_run(RunStatus.PASSED)
    engine.dispose()
    out = tmp_path / "run.json"

    result = CliRunner().invoke(main, ["export", run_id, "--format", "json", "--out", str(out), "--db", db_url])

    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["thermal_samples"] == [
        {"setpoint_c": 85.0, "forcer_c": 40.5, "die_c": None, "at_temperature": False, "head": "down", "time": 10.0},
        {"setpoint_c": 85.0, "forcer_c": 84.9, "die_c": None, "at_temperature": True, "head": "down", "time": 10.2},
    ]


def test_an_export_that_fails_half_way_leaves_the_previous_file_whole(recorded_run: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bringup.report import export_stdf

    out = tmp_path / "run.stdf"
    out.write_bytes(b"the export of yesterday")
    real_records = export_stdf.stdf_records

    def disk_full_after_three_records(record: Any) -> Any:
        for number, chunk in enumerate(real_records(record)):
            if number == 3:
                raise OSError(28, "No space left on device")
            yield chunk

    monkeypatch.setattr(export_stdf, "stdf_records", disk_full_after_three_records)
    result = CliRunner().invoke(main, ["export", recorded_run.run_id, "--format", "stdf", "--out", str(out),
                                       "--db", recorded_run.db_url])

    assert result.exit_code != 0
    assert out.read_bytes() == b"the export of yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["run.stdf"]  # no half-written file left beside it


def test_export_of_an_unknown_run_exits_2(recorded_run: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "zzzz", "--format", "csv", "--out", str(tmp_path / "x.csv"),
                                       "--db", recorded_run.db_url])

    assert result.exit_code == 2 and "no run id starts with 'zzzz'" in result.stderr
    assert not (tmp_path / "x.csv").exists()
