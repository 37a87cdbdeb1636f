"""A reading that is not a number (NaN, ±inf) is recorded as it was: the run goes on, the
verdict fails it, and every reader gives the same value back, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import math
from urllib.parse import quote

from click.testing import CliRunner
from sqlalchemy import select

from bringup import history
from bringup.cli import main
from bringup.db.models import Run
from bringup.db.recorder import Recorder
from bringup.events import Measurement, RunStatus
from bringup.limits import within

READINGS = {"idd-nan": math.nan, "idd-inf": math.inf, "idd-neg-inf": -math.inf, "idd-ok": 0.5}


def record_readings(engine) -> str:
    with Recorder(engine, stale_after_s=None) as recorder:
        run_id = recorder.start_run("NAN-1")
        for name, value in READINGS.items():  # the events path a runbook's measure step takes
            recorder.handle(Measurement(run_id=run_id, step_index=0, name=name, value=value, units="A",
                                        low=0.1, high=1.0, passed=within(value, 0.1, 1.0)))
        recorder.measurement("idd-fast-nan", math.nan, "A", 0.1, 1.0)  # the scripted fast path
        recorder.finish_run(RunStatus.FAILED, "idd out of limits")
        assert recorder.failure is None
    return run_id


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_nan_and_infinite_readings_are_recorded_and_read_back(engine) -> None:
    run_id = record_readings(engine)

    with engine.connect() as conn:
        assert conn.execute(select(Run.status).where(Run.id == run_id)).scalar_one() == "failed"
    got = {m.name: (m.value, m.passed) for m in history.measurements(db=engine, run_id=run_id)}
    expected = {**READINGS, "idd-fast-nan": math.nan}
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert same(got[name][0], value), name
        assert got[name][1] is (name == "idd-ok"), name


def cli_url(database) -> str:
    """The test database as a URL a command can open (PostgreSQL: its own schema)."""
    options = database.connect_args.get("options")
    return database.url if options is None else f"{database.url}?options={quote(options)}"


def test_query_measurements_prints_nan_for_a_nan_reading(database, engine) -> None:
    run_id = record_readings(engine)
    url = cli_url(database)

    result = CliRunner().invoke(main, ["query", "measurements", "--db", url, "--run", run_id,
                                       "--format", "csv"])

    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(result.output))}
    assert math.isnan(float(rows["idd-nan"]["value"]))
    assert float(rows["idd-neg-inf"]["value"]) == -math.inf
    assert rows["idd-nan"]["passed"] == "False"
