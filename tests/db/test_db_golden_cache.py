"""Goldens recorded in the database are shared between stations by golden key (content hash,
reference core fingerprint, method), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bringup.db.golden_cache import DatabaseGoldenCache
from bringup.db.recorder import Recorder
from bringup.db.writer import unpack_words
from bringup.emulator import version
from bringup.events import VectorResult
from bringup.vectors import generate_program
from bringup.vectors import golden as golden_module
from bringup.vectors.golden import DirectoryCache, compute_golden, golden_key


def record_golden(engine, vector, signature: bytes, key: str, serial: str = "GOLD-1") -> None:
    """What a station's run_vectors step leaves in the database after running `vector`."""
    words = unpack_words(signature)
    with Recorder(engine, stale_after_s=None) as recorder:
        run_id = recorder.start_run(serial)
        recorder.handle(VectorResult(run_id=run_id, step_index=0, vector_name=vector.name,
                                     content_hash=vector.content_hash, golden_key=key, passed=True,
                                     expected=words, actual=words))


def refuse_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(vector):
        raise AssertionError(f"golden of {vector.name} computed although the database has it")

    monkeypatch.setattr(golden_module, "reference_signature", must_not_run)


def test_a_second_station_gets_the_golden_from_the_database_without_computing_it(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vector = generate_program(7, 20).vector
    first_station = DatabaseGoldenCache(engine, DirectoryCache(tmp_path / "station-a"))
    (computed,) = compute_golden([vector], first_station)
    assert not computed.from_cache
    record_golden(engine, vector, computed.signature, golden_key(vector))

    second_disk = DirectoryCache(tmp_path / "station-b")
    second_station = DatabaseGoldenCache(engine, second_disk)
    refuse_the_reference(monkeypatch)
    (shared,) = compute_golden([vector], second_station)

    assert shared.from_cache and shared.signature == computed.signature
    assert second_disk.get(golden_key(vector)) is None  # it came from the database


def test_a_golden_recorded_by_another_emulator_version_is_not_used(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vector = generate_program(8, 20).vector
    true_signature = golden_module.reference_signature(vector)
    monkeypatch.setattr(version, "SEMANTICS_VERSION", version.SEMANTICS_VERSION + 1)
    version.fingerprint.cache_clear()
    try:
        other_version_key = golden_key(vector)
    finally:
        monkeypatch.undo()
        version.fingerprint.cache_clear()
    wrong = bytes(len(true_signature))  # what the other core left: not this core's answer
    record_golden(engine, vector, wrong, other_version_key)

    cache = DatabaseGoldenCache(engine, DirectoryCache(tmp_path / "golden"))
    (golden,) = compute_golden([vector], cache)

    assert not golden.from_cache and golden.signature == true_signature


def test_a_result_without_a_golden_key_shares_no_golden(engine, tmp_path: Path) -> None:
    """Events journalled before goldens had keys replay into results, never into goldens."""
    vector = generate_program(9, 20).vector
    signature = golden_module.reference_signature(vector)
    record_golden(engine, vector, signature, key="")

    cache = DatabaseGoldenCache(engine, DirectoryCache(tmp_path / "golden"))

    assert cache.get(golden_key(vector)) is None


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


class OneSuite:
    """A vector source (the two members the run_vectors step uses) of given vectors."""

    def __init__(self, vectors: list, cache) -> None:
        self._vectors = vectors
        self.cache = cache

    def vectors(self, suite: str, **_: object) -> list:
        return self._vectors


class PoweredBench:
    clock_running = True
    powered: tuple[str, ...] = ()


def test_a_golden_computed_in_a_step_reaches_the_next_station_through_the_recorder(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bringup.dut.reference import ReferenceDut
    from bringup.runbook import RunVectors
    from bringup.steps.base import RunControl, StepContext
    from bringup.steps.vectors import RunVectorsStep

    vectors = [generate_program(seed, 20).vector for seed in (11, 12)]
    first_station = DatabaseGoldenCache(engine, DirectoryCache(tmp_path / "station-a"))
    events: list = []
    ctx = StepContext(run_id="unused", station=None, power=PoweredBench(),  # type: ignore[arg-type]
                      control=RunControl(), publish=events.append, dut_factory=ReferenceDut,
                      vector_source=OneSuite(vectors, first_station))
    step = RunVectorsStep(RunVectors(step="run_vectors", suite="given"))
    assert step.run(ctx).passed
    with Recorder(engine, stale_after_s=None) as recorder:
        run_id = recorder.start_run("STEP-1")
        for event in events:
            if isinstance(event, VectorResult):
                recorder.handle(dataclasses.replace(event, run_id=run_id))

    refuse_the_reference(monkeypatch)
    second_station = DatabaseGoldenCache(engine, DirectoryCache(tmp_path / "station-b"))
    shared = compute_golden(vectors, second_station)

    assert all(golden.from_cache for golden in shared)

