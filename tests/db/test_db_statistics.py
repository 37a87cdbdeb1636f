"""SQLite: a run that wrote many rows leaves the query planner fresh statistics (ANALYZE, bounded
by analysis_limit); a small run does not pay for it. PostgreSQL's autovacuum does its own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from bringup.db.engine import make_engine
from bringup.db.recorder import ANALYZE_AFTER_ROWS, Recorder
from bringup.events import RunStatus


def record_run(engine: Engine, measurements: int) -> None:
    with Recorder(engine, stale_after_s=None) as recorder:
        recorder.start_run("STATS-1")
        for i in range(measurements):
            recorder.measurement("idd", i * 1e-3, "A", vdd_core_v=0.8 + (i % 7) * 0.01)
        recorder.finish_run(RunStatus.PASSED)


def planner_statistics(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
            return {}
        return dict(conn.execute(text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'measurement'")).all())


def test_a_large_run_leaves_statistics_for_the_history_queries(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lab.db'}")
    try:
        record_run(engine, ANALYZE_AFTER_ROWS + 1)
        stats = planner_statistics(engine)
    finally:
        engine.dispose()
    assert "ix_measurement_run_step" in stats


def test_a_small_run_does_not_analyze(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lab.db'}")
    try:
        record_run(engine, 10)
        stats = planner_statistics(engine)
    finally:
        engine.dispose()
    assert stats == {}
