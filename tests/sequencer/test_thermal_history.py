"""A run's temperature history: set_temperature records the forcer as it gets there."""

from __future__ import annotations

from sequencer_bench import Bench
from sqlalchemy import select

from bringup.db.models import ThermalSampleRow
from bringup.events import RunStatus


def test_set_temperature_records_the_forcer_until_it_is_there(bench: Bench) -> None:
    report = bench.run("""
- step: set_temperature
  celsius: 45
  window_c: 2
  soak_s: 1
  timeout_s: 120
""")
    assert report.status == RunStatus.PASSED, report.reason
    with bench.engine().connect() as conn:
        rows = conn.execute(select(ThermalSampleRow).where(ThermalSampleRow.run_id == report.run_id)
                            .order_by(ThermalSampleRow.id)).all()
    assert len(rows) >= 2, "the forcer takes a while to get from ambient to 45 °C"
    assert {row.setpoint_c for row in rows} == {45.0} and {row.head for row in rows} == {"down"}
    assert [row.at_temperature for row in rows] == [False] * (len(rows) - 1) + [True]
    assert abs(rows[-1].forcer_c - 45.0) <= 2.0
    assert rows[0].forcer_c < rows[-1].forcer_c  # it warmed up on the way
