"""bringup.history: plain records for scripts, DataFrames where pandas is installed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from recorded import PlannedRun, Result, record

from bringup import history
from bringup.dblocation import NoDatabase
from bringup.events import Conditions

HOT = Conditions(vdd_core_v=0.75, core_mhz=800.0, temperature_c=85.0)
COOL = Conditions(vdd_core_v=0.8, core_mhz=500.0, temperature_c=25.0)


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    runs = [
        PlannedRun(chip="A", steps=[Result(measurements=[("idd", 0.3, "A", None, 0.5, COOL)],
                                           vectors=[("alu", True, COOL)])]),
        PlannedRun(chip="B", lot="L2", steps=[Result(measurements=[("idd", 0.9, "A", None, 0.5, HOT)],
                                                     vectors=[("alu", False, HOT)])]),
    ]
    return url, record(url, *runs)


def test_records_are_plain_dataclasses(db: tuple[str, list[str]]) -> None:
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


def test_frame_gives_a_dataframe_with_one_column_per_field(db: tuple[str, list[str]]) -> None:
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
