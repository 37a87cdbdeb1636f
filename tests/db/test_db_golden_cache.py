"""Goldens recorded in the database are found again by content hash, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from bringup.db.golden_cache import DatabaseGoldenCache
from bringup.db.recorder import Recorder
from bringup.events import VectorResult
from bringup.vectors.golden import DirectoryCache


def test_a_recorded_golden_is_served_from_the_database(engine, tmp_path: Path) -> None:
    disk = DirectoryCache(tmp_path / "golden")
    cache = DatabaseGoldenCache(engine, disk)
    assert cache.get("ab" * 32) is None
    with Recorder(engine, stale_after_s=None) as recorder:
        run_id = recorder.start_run("GOLD-1")
        recorder.handle(VectorResult(run_id=run_id, step_index=0, vector_name="v", content_hash="ab" * 32,
                                     passed=True, expected=(1, 0xDEADBEEF), actual=(1, 0xDEADBEEF)))
    assert cache.get("ab" * 32) == (1).to_bytes(4, "little") + (0xDEADBEEF).to_bytes(4, "little")
    assert disk.get("ab" * 32) is None  # it came from the database


def test_a_new_golden_waits_on_disk_until_its_first_result_is_recorded(engine, tmp_path: Path) -> None:
    cache = DatabaseGoldenCache(engine, DirectoryCache(tmp_path / "golden"))
    cache.put("cd" * 32, b"\x01\x00\x00\x00")
    assert cache.get("cd" * 32) == b"\x01\x00\x00\x00"


def test_a_database_that_is_down_falls_back_to_disk_and_says_so_once(tmp_path: Path, caplog) -> None:
    from bringup.db.engine import make_engine

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/lab", upgrade=False,
                         connect_args={"connect_timeout": 2})
    disk = DirectoryCache(tmp_path / "golden")
    disk.put("ef" * 32, b"\x02\x00\x00\x00")
    cache = DatabaseGoldenCache(engine, disk)

    assert cache.get("ef" * 32) == b"\x02\x00\x00\x00"
    assert cache.get("01" * 32) is None  # not cached anywhere: the caller computes it

    warnings = [r for r in caplog.records if "does not answer" in r.getMessage()]
    assert len(warnings) == 1
