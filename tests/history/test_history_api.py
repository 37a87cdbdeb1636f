"""bringup.history: plain records for scripts, DataFrames where pandas is installed."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from recorded import PlannedRun, Result, record
from sqlalchemy import text

from bringup import history
from bringup.db.engine import make_engine
from bringup.dblocation import NoDatabase
from bringup.events import Conditions

HOT = Conditions(vdd_core_v=0.75, core_mhz=800.0, temperature_c=85.0)
COOL = Conditions(vdd_core_v=0.8, core_mhz=500.0, temperature_c=25.0)


PG_URL = os.environ.get("BRINGUP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A SQLite file, or a fresh schema on the lab's PostgreSQL (skipped where none answers)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lab.db'}"
        return
    schema = f"h_{uuid.uuid4().hex[:12]}"
    try:
        admin = make_engine(PG_URL, upgrade=False, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL at {PG_URL}: {exc}")
        pytest.skip(f"no PostgreSQL at {PG_URL} ({type(exc).__name__}); set BRINGUP_TEST_PG")
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def db(database: Any) -> tuple[Any, list[str]]:
    url = database
    runs = [
        PlannedRun(chip="A", steps=[Result(measurements=[("idd", 0.3, "A", None, 0.5, COOL)],
                                           vectors=[("alu", True, COOL)])]),
        PlannedRun(chip="B", lot="L2", steps=[Result(measurements=[("idd", 0.9, "A", None, 0.5, HOT)],
                                                     vectors=[("alu", False, HOT)])]),
    ]
    return url, record(url, *runs)


def test_records_are_plain_dataclasses(db: tuple[Any, list[str]]) -> None:
    url, (a, b) = db

    runs = history.runs(db=url)
    hot = history.measurements(db=url, celsius="80:90")
    failures = history.vector_results(db=url, failed_only=True)

    assert [r.id for r in runs] == [b, a] and dataclasses.is_dataclass(runs[0])
    assert [(m.chip_serial, m.value, m.passed) for m in hot] == [("B", 0.9, False)]
    assert [(v.run_id, v.first_mismatch_addr) for v in failures] == [(b, 0x80001004)]
    assert history.run(a[:6], db=url).run.chip_serial == "A"
    assert history.run("zzzz", db=url) is None
    assert [c.name for c in history.compare(a, b, db=url).changes] == ["idd", "alu"]


def test_frame_gives_a_dataframe_with_one_column_per_field(db: tuple[Any, list[str]]) -> None:
    pd = pytest.importorskip("pandas", reason="pandas is optional (in the test extra)")
    url, _ = db

    frame = history.frame(history.measurements(db=url))

    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [f.name for f in dataclasses.fields(history.measurements(db=url)[0])]
    assert frame.groupby("chip_serial")["value"].max().to_dict() == {"A": 0.3, "B": 0.9}


def test_the_api_never_creates_a_database(tmp_path: Path) -> None:
    with pytest.raises(NoDatabase, match="no database at"):
        history.runs(db=str(tmp_path / "none.db"))
    assert list(tmp_path.iterdir()) == []


def test_run_record_and_lot_yield_on_every_database(db: tuple[Any, list[str]]) -> None:
    from bringup.db.queries import lot_corner_yield

    url, (_, b) = db
    record = history.run_record(b, db=url)
    engine, owned = history.engine_for(url)
    try:
        corners = lot_corner_yield(engine, "L1")
    finally:
        if owned:
            engine.dispose()

    assert record is not None and record.run.chip_serial == "B" and (record.wafer, record.die_x) == (7, 3)
    assert [(f.vector_name, f.expected, f.actual) for f in record.failing_vectors] == [
        ("alu", (0x1234, 0xFFFF0000), (0x1234, 0xFFFF0F01))]
    assert [(c.vdd_core_v, c.tested, c.passed) for c in corners] == [(0.8, 1, 1)]
