"""`bringup query ...` for people and programs: formats, filters, diff, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from recorded import PlannedRun, Result, record

from bringup.cli import main
from bringup.events import Conditions, RunStatus, StepStatus

AT_25 = Conditions(vdd_core_v=0.8, core_mhz=500.0, temperature_c=25.0)
AT_85 = Conditions(vdd_core_v=0.8, core_mhz=500.0, temperature_c=85.0)
LONG_SERIAL = "SIM-" + "LONGSERIAL" * 6
LONG_REASON = "the forcer lost its air supply at 03:12 and the die cooled below the window " * 3


def smoke(chip: str, die_c: float, conditions: Conditions, **kwargs: object) -> PlannedRun:
    steps = [
        Result(measurements=[("VDD_CORE voltage", 0.80, "V", 0.76, 0.82, conditions)]),
        Result(measurements=[("die temperature", die_c, "°C", 0.0, 105.0, conditions)]),
        Result(vectors=[(f"rand-{n}", n not in (2, 10), conditions) for n in (1, 2, 10, 11)],
               status=StepStatus.FAILED),
    ]
    return PlannedRun(chip=chip, steps=steps, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    path = tmp_path_factory.mktemp("history") / "lab.db"
    runs = {
        "cool": smoke("SIM-0001", 29.0, AT_25),
        "hot": smoke("SIM-0001", 91.0, AT_85),
        "again": smoke("SIM-0001", 29.0, AT_25),
        "resumed": smoke("SIM-0001", 29.0, AT_25, crash_in_step=1),
        "long": smoke(LONG_SERIAL, 30.0, AT_25, lot="L2", status=RunStatus.FAILED, reason=LONG_REASON),
        "other": PlannedRun(chip="SIM-0002", runbook="overnight", steps=[
            Result(vectors=[(f"walk-{n}", True, Conditions(vdd_core_v=v, core_mhz=400.0))
                            for n in range(40) for v in (0.7,)]),
        ]),
    }
    ids = record(f"sqlite:///{path}", *runs.values())
    return {"path": str(path), **dict(zip(runs, ids, strict=True))}


def bringup(db: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--db", db["path"]])
    return result.exit_code, result.stdout, result.stderr


def test_csv_piped_into_pythons_csv_module_has_the_right_columns(db: dict[str, str]) -> None:
    command = [sys.executable, "-m", "bringup.cli", "query", "measurements", "--format", "csv", "--db", db["path"]]
    producer = subprocess.Popen(command, stdout=subprocess.PIPE)
    reader = subprocess.run(
        [sys.executable, "-c", "import csv, json, sys; print(json.dumps(list(csv.DictReader(sys.stdin))))"],
        stdin=producer.stdout, capture_output=True, text=True, check=True, timeout=60,
    )
    assert producer.wait(timeout=60) == 0
    rows = json.loads(reader.stdout)

    assert list(rows[0]) == ["run", "chip", "step", "name", "value", "units", "low", "high", "passed", "time",
                             "V", "MHz", "°C"]
    assert len(rows) == 2 * 6 - 2 + 1  # two per smoke run, the resumed step's first try recorded too
    long_row = next(r for r in rows if r["chip"] == LONG_SERIAL)
    assert long_row["name"] == "VDD_CORE voltage" and float(long_row["value"]) == 0.80


def test_every_query_takes_csv_and_json(db: dict[str, str]) -> None:
    for args in (["query", "runs"], ["query", "run", db["cool"]], ["query", "failing"],
                 ["query", "vectors"], ["query", "diff", db["cool"], db["hot"]]):
        code, out, err = bringup(db, *args, "--format", "csv")
        assert code == 0, (args, err)
        assert len(list(csv.reader(io.StringIO(out)))) > 1, args
        code, out, err = bringup(db, *args, "--format", "json")
        assert code == 0, (args, err)
        assert json.loads(out), args


def test_a_table_in_a_pipe_keeps_every_value_whole(db: dict[str, str]) -> None:
    code, out, _ = bringup(db, "query", "runs")

    assert code == 0
    line = next(line for line in out.splitlines() if LONG_SERIAL in line)
    assert line.rstrip().endswith(LONG_REASON.strip())  # one line, nothing cut or wrapped


def test_query_run_says_resumed_only_for_a_resumed_run(db: dict[str, str]) -> None:
    _, plain, _ = bringup(db, "query", "run", db["cool"])
    _, resumed, _ = bringup(db, "query", "run", db["resumed"][:10])

    assert "resumed" not in plain.splitlines()[0]
    assert "resumed 1 time" in resumed.splitlines()[0]


@pytest.mark.parametrize("args", [["query", "run", "zzzz"], ["query", "diff", "zzzz", "yyyy"],
                                  ["query", "measurements", "--run", "zzzz"]])
def test_an_unknown_run_id_exits_2_with_the_fix(db: dict[str, str], args: list[str]) -> None:
    code, _, err = bringup(db, *args)

    assert code == 2
    assert "no run id starts with 'zzzz'" in err and "bringup query runs" in err


def test_measurements_filtered_by_chip_lot_and_conditions(db: dict[str, str]) -> None:
    def names(*args: str) -> list[tuple[str, str]]:
        _, out, _ = bringup(db, "query", "measurements", "--format", "json", *args)
        return [(m["run"], m["name"]) for m in json.loads(out)]

    assert {r for r, _ in names("--celsius", "85")} == {db["hot"]}
    assert {r for r, _ in names("--celsius", "80:90")} == {db["hot"]}
    assert {r for r, _ in names("--lot", "L2")} == {db["long"]}
    assert {r for r, _ in names("--status", "failed")} == {db["long"]}
    assert names("--run", db["hot"], "--name", "die temperature") == [(db["hot"], "die temperature")]
    assert names("--runbook", "no-such") == [] and names("--station", "bench-1")
    assert names("--until", "2000-01-01") == []
    code, _, err = bringup(db, "query", "measurements", "--volts", "high")
    assert code == 2 and "--volts 'high'" in err


def test_vectors_filtered_to_failures_at_a_voltage(db: dict[str, str]) -> None:
    _, out, _ = bringup(db, "query", "vectors", "--run", db["cool"], "--failed", "--volts", "0.75:0.85",
                        "--format", "json")
    failures = json.loads(out)

    assert [(v["vector"], v["first_mismatch"], v["flipped_bits"]) for v in failures] == [
        ("rand-2", 0x80001004, 0x0F01), ("rand-10", 0x80001004, 0x0F01)]


def test_diff_shows_measurements_and_conditions_with_their_deltas(db: dict[str, str]) -> None:
    code, out, _ = bringup(db, "query", "diff", db["cool"], db["hot"])

    assert code == 0
    summary, *rest = out.splitlines()
    assert "1 measurements differ" in summary
    assert any("temperature: 25 °C -> 85 °C" in line for line in rest)
    row = next(line for line in rest if line.startswith("measurement  die temperature"))
    assert row.split()[-3:] == ["29", "91", "62"]


def test_diff_of_equal_runs_says_no_differences(db: dict[str, str]) -> None:
    code, out, _ = bringup(db, "query", "diff", db["cool"], db["again"])

    assert code == 0
    assert out.strip().endswith(": no differences")


def test_diff_of_a_resumed_run_shows_no_spurious_rows(db: dict[str, str]) -> None:
    # The resumed run recorded its interrupted step twice (first try at half the value).
    _, out, _ = bringup(db, "query", "diff", db["cool"], db["resumed"])

    assert out.strip().endswith(": no differences"), out


def test_diff_of_different_runbooks_is_summarised(db: dict[str, str]) -> None:
    _, out, _ = bringup(db, "query", "diff", db["cool"], db["other"])
    lines = out.splitlines()

    assert "different runbooks" in lines[0] and "6 results only in" in lines[0] and "40 only in" in lines[0]
    assert len(lines) < 10  # counted, not 46 rows
    _, everything, _ = bringup(db, "query", "diff", db["cool"], db["other"], "--all")
    assert sum("absent" in line for line in everything.splitlines()) == 46


def test_vector_names_sort_naturally(db: dict[str, str]) -> None:
    _, out, _ = bringup(db, "query", "diff", db["cool"], db["other"], "--all", "--format", "json")
    walks = [c["name"] for c in json.loads(out) if c["name"].startswith("walk-")]
    _, out, _ = bringup(db, "query", "failing", "--format", "json")
    failing = [f["vector"] for f in json.loads(out) if f["chip"] == "SIM-0001"]

    assert walks[:12] == [f"walk-{n}" for n in range(12)]
    assert failing[:2] == ["rand-2", "rand-10"]


def test_a_read_only_query_never_creates_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BRINGUP_DB", raising=False)

    result = CliRunner().invoke(main, ["query", "runs"])

    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no database at ./lab.db — run `bringup demo` or pass --db"
    assert list(tmp_path.iterdir()) == []


def test_queries_do_not_import_alembic(db: dict[str, str]) -> None:
    code = ("import sys; from bringup.cli import main\n"
            f"try: main(['query', 'vmin', '--lot', 'L1', '--db', {db['path']!r}])\n"
            "except SystemExit as e: assert not e.code, e.code\n"
            "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    assert out.stdout.strip().splitlines()[-1] == "False"


def test_vmin_command_reads_sqlite_without_sqlalchemy_and_agrees_with_the_query(db: dict[str, str]) -> None:
    from bringup.db.queries import vmin_by_chip
    from bringup.dblocation import open_readonly

    script = ("import sys; from bringup.cli import main\n"
              f"try: main(['query', 'vmin', '--lot', 'L1', '--db', {db['path']!r}])\n"
              "except SystemExit as e: assert not e.code, e.code\n"
              "print(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    engine = open_readonly(db["path"])
    expected = vmin_by_chip(engine, "L1")
    engine.dispose()

    *table, imported = out.stdout.strip().splitlines()
    assert imported == "[]"
    assert expected and all(p.chip_serial in "\n".join(table) for p in expected)


def test_json_output_is_strict_json_even_for_an_overrange_reading(tmp_path: Path) -> None:
    # A meter's overload reads as infinity (SQLite keeps it; PostgreSQL keeps NaN too).
    path = tmp_path / "lab.db"
    record(f"sqlite:///{path}", PlannedRun(chip="SIM-0009", steps=[
        Result(measurements=[("VDD_CORE current", float("inf"), "A", 0.0, 1.2, AT_25)])]))

    code, out, _ = bringup({"path": str(path)}, "query", "measurements", "--format", "json")

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    assert code == 0
    [row] = json.loads(out, parse_constant=refuse)
    assert row["value"] is None and row["passed"] is False
