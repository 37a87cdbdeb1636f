"""The spool: every event is journaled before the database, and replayed into it exactly once."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from bringup.db.journal import HEADER, JournalFile, encode_batch, journal_files, read_journal
from bringup.db.models import MeasurementRow, Run, Step
from bringup.db.recorder import Recorder, RecorderError, mark_stale_runs
from bringup.db.replay import replay_spool
from bringup.events import (
    Conditions,
    ConsoleLine,
    EventBus,
    InstrumentInfo,
    Log,
    Measurement,
    RailSample,
    RunFinished,
    RunStarted,
    RunStatus,
    StepFinished,
    StepStarted,
    StepStatus,
    SweepOutcome,
    SweepPoint,
    ThermalSample,
    VectorResult,
    new_run_id,
)

ROOT = Path(__file__).resolve().parents[2]


def measurements(engine, run_id: str) -> list[float]:
    with engine.connect() as conn:
        return list(conn.execute(select(MeasurementRow.value).where(MeasurementRow.run_id == run_id)).scalars())


def every_kind_of_event(run_id: str) -> list:
    at = Conditions(vdd_core_v=0.8, core_mhz=400.0, temperature_c=-40.0)
    return [
        RunStarted(run_id=run_id, chip_serial="C-1", station_name="bench", runbook_name="rb", runbook_hash="h",
                   runbook_text="steps:\n- step: power_on\n", lot="L1", wafer=3, die_x=-2, die_y=7,
                   instruments=(InstrumentInfo(role="psu", driver="E36312A", resource="TCPIP0::x", idn="K"),),
                   resumed=True, host="bench7", pid=42),
        StepStarted(run_id=run_id, index=0, name="measure ü", kind="measure"),
        Measurement(run_id=run_id, step_index=0, name="idd", value=0.1 + 0.2, units="A", low=None, high=1e300,
                    passed=True, conditions=at),
        Measurement(run_id=run_id, step_index=0, name="nan", value=math.nan, passed=False),
        Measurement(run_id=run_id, step_index=0, name="inf", value=-math.inf, low=5e-324),
        VectorResult(run_id=run_id, step_index=0, vector_name="alu", content_hash="a" * 64, passed=False,
                     expected=(0xFFFFFFFF, 0), actual=(0, 1), first_mismatch_addr=0x8000_0000, flipped_bits=3,
                     repeat=2, conditions=at, duration_s=0.25),
        SweepPoint(run_id=run_id, step_index=0, conditions=at, outcome=SweepOutcome.HANG, confirmed=True,
                   vectors_passed=1, vectors_run=2, done=3, total=9),
        ThermalSample(run_id=run_id, setpoint_c=85.0, forcer_c=None, die_c=91.5, at_temperature=True, head="down"),
        RailSample(run_id=run_id, rail="VDD_CORE", volts=0.8, amps=0.125),
        ConsoleLine(run_id=run_id, text='> "quoted"\\ \x1b[0m', direction="tx"),
        Log(run_id=run_id, text="line\nbreak", level="warning"),
        StepFinished(run_id=run_id, index=0, status=StepStatus.FAILED, message="idd high"),
        RunFinished(run_id=run_id, status=RunStatus.ERROR, reason="database gone"),
    ]


def test_every_event_kind_reads_back_exactly_as_written(tmp_path):
    run_id = new_run_id()
    written = every_kind_of_event(run_id)
    fast_path = (run_id, 0, "v", 1.5, "V", None, 2.0, True, 1.25, None, None, None)
    journal = JournalFile(tmp_path, run_id)
    journal.append(encode_batch(written[:5]), 5)
    journal.append(encode_batch([*written[5:], fast_path]), len(written) - 4)
    journal.close()

    back = read_journal(journal.path)

    assert back.run_id == run_id and not back.torn
    assert repr(back.items) == repr([*written, fast_path])  # repr: nan != nan, but prints the same
    assert type(back.items[-2].status) is RunStatus and back.items[5].expected == (0xFFFFFFFF, 0)


def test_a_torn_last_record_keeps_everything_before_it(tmp_path):
    run_id = new_run_id()
    journal = JournalFile(tmp_path, run_id)
    journal.append(encode_batch(every_kind_of_event(run_id)[:3]), 3)
    journal.close()
    whole = journal.path.read_bytes()
    payload = encode_batch(every_kind_of_event(run_id)[3:6])
    import zlib

    record = HEADER.pack(len(payload), zlib.crc32(payload)) + payload
    for cut in (3, HEADER.size + 10, len(record) - 1):  # a crash at any point of the last write
        journal.path.write_bytes(whole + record[:cut])
        back = read_journal(journal.path)
        assert back.torn and len(back.items) == 3
    damaged = bytearray(record)
    damaged[-5] ^= 0x20  # one flipped bit in the last record
    journal.path.write_bytes(whole + bytes(damaged))
    assert read_journal(journal.path).torn and len(read_journal(journal.path).items) == 3


def test_replay_writes_what_the_database_missed_exactly_once(engine, tmp_path):
    spool, saved = tmp_path / "spool", tmp_path / "saved"
    with Recorder(engine, stale_after_s=None, spool=spool) as recorder:
        run_id = recorder.start_run("C-1")
        for i in range(50):
            recorder.measurement("v", float(i))
        recorder.flush()
        shutil.copytree(spool, saved)  # the journal as a crash would leave it (no RunFinished)
    with engine.begin() as conn:  # ... and the database without the last commits
        conn.execute(MeasurementRow.__table__.delete().where(MeasurementRow.value >= 40))
        conn.execute(text("UPDATE recorded_journal SET seq = 41"))  # RunStarted + 40 measurements

    first = replay_spool(engine, saved)

    assert [(r.run_id, r.written, r.skipped, r.status) for r in first] == [(run_id, 10, 41, "interrupted")]
    assert sorted(measurements(engine, run_id)) == [float(i) for i in range(50)]
    assert journal_files(saved) == []  # retired


def test_replay_writes_a_journaled_thermal_sample_exactly_once(engine, tmp_path):
    from bringup.db.models import SweepPointRow, ThermalSampleRow

    def recorded(table, *columns):
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(*columns).where(table.run_id == run_id)
                                                   .order_by(table.id))]

    spool, saved = tmp_path / "spool", tmp_path / "saved"
    with Recorder(engine, stale_after_s=None, spool=spool) as recorder:
        run_id = recorder.start_run("C-1")
        recorder.handle(ThermalSample(run_id=run_id, setpoint_c=85.0, forcer_c=40.0, die_c=39.5,
                                      at_temperature=False, head="down", ts=10.0))
        recorder.flush()
        recorder.handle(ThermalSample(run_id=run_id, setpoint_c=85.0, forcer_c=84.9, die_c=86.0,
                                      at_temperature=True, head="down", ts=11.0))
        recorder.handle(SweepPoint(run_id=run_id, step_index=0, conditions=Conditions(vdd_core_v=0.7),
                                   outcome=SweepOutcome.PASS, done=1, total=4, ts=12.0))
        recorder.flush()
        shutil.copytree(spool, saved)  # the journal as a crash would leave it (no RunFinished)
    with engine.begin() as conn:  # ... and the database without the second commit
        conn.execute(ThermalSampleRow.__table__.delete().where(ThermalSampleRow.time > 10.5))
        conn.execute(SweepPointRow.__table__.delete())
        conn.execute(text("UPDATE recorded_journal SET seq = 2"))  # RunStarted + the first sample
    again = tmp_path / "again"
    shutil.copytree(saved, again)  # the same journal, to replay a second time

    first = replay_spool(engine, saved)
    second = replay_spool(engine, again)

    assert [(r.written, r.skipped) for r in first] == [(2, 2)]
    assert [(r.written, r.skipped) for r in second] == [(0, 4)]
    assert recorded(ThermalSampleRow, ThermalSampleRow.time, ThermalSampleRow.forcer_c,
                    ThermalSampleRow.at_temperature) == [(10.0, 40.0, False), (11.0, 84.9, True)]
    assert recorded(SweepPointRow, SweepPointRow.done, SweepPointRow.total) == [(1, 4)]


def test_replaying_a_journal_twice_writes_nothing_twice(engine, tmp_path):
    spool, saved = tmp_path / "spool", tmp_path / "saved"
    with Recorder(engine, stale_after_s=None, spool=spool) as recorder:
        run_id = recorder.start_run("C-1")
        for i in range(20):
            recorder.measurement("v", float(i))
        recorder.flush()
        shutil.copytree(spool, saved)  # a copy taken while everything is in the database

    again = replay_spool(engine, saved)

    assert [(r.written, r.skipped) for r in again] == [(0, 21)]
    assert len(measurements(engine, run_id)) == 20


def test_a_live_recorders_journal_is_not_replayed(engine, tmp_path):
    spool = tmp_path / "spool"
    with Recorder(engine, stale_after_s=None, spool=spool) as live:
        run_id = live.start_run("C-1")
        live.flush()
        assert replay_spool(engine, spool) == []
        assert len(journal_files(spool)) == 1
        live.finish_run(RunStatus.PASSED)
    assert journal_files(spool) == []  # everything in the database: the journal is retired
    with engine.connect() as conn:
        assert conn.execute(select(Run.status).where(Run.id == run_id)).scalar_one() == "passed"


def test_a_deleted_database_file_is_never_recreated_and_the_journal_keeps_the_run(tmp_path, monkeypatch):
    from bringup.db.engine import make_engine

    monkeypatch.delenv("BRINGUP_SPOOL")  # the default: the spool beside the database file
    db = tmp_path / "lab.db"
    engine = make_engine(f"sqlite:///{db}")
    told: list[str] = []
    recorder = Recorder(engine, stale_after_s=None, on_failure=told.append)
    run_id = recorder.start_run("C-1")
    recorder.measurement("before", 1.0)
    recorder.flush()
    for path in (db, db.with_name("lab.db-wal"), db.with_name("lab.db-shm")):
        path.unlink(missing_ok=True)  # someone cleans up the disk mid-run
    recorder.measurement("after", 2.0)
    with pytest.raises(RecorderError, match=r"lab\.db was deleted while recording"):
        recorder.flush()
    recorder.finish_run(RunStatus.ERROR, "recording stopped")
    with pytest.raises(RecorderError, match=r"kept in .*lab\.db\.spool.*bringup db replay"):
        recorder.close()
    engine.dispose()

    assert not db.exists(), "the recorder created a new, empty database"
    assert len(told) == 1 and "deleted" in told[0]
    fresh = make_engine(f"sqlite:///{db}")  # the operator restores or recreates it on purpose
    [replayed] = replay_spool(fresh)
    assert (replayed.run_id, replayed.status) == (run_id, "error")
    assert sorted(measurements(fresh, run_id)) == [1.0, 2.0]
    fresh.dispose()


def hold_write_lock(database, engine, seconds: float) -> threading.Thread:
    """Another writer holds the database's write lock for ``seconds`` (the fault: a stalled database)."""
    locked = threading.Event()

    def hold() -> None:
        with engine.connect() as conn:
            conn.execute(text("BEGIN EXCLUSIVE") if database.dialect == "sqlite"
                         else text("LOCK TABLE measurement IN ACCESS EXCLUSIVE MODE"))
            locked.set()
            threading.Event().wait(seconds)
            conn.rollback()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(10), "could not take the write lock"
    return holder


# Long (a 6 s stall each): PostgreSQL's variant runs with -m slow.
SQLITE_NOW_POSTGRES_SLOW = pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])], indirect=True
)


@SQLITE_NOW_POSTGRES_SLOW
def test_close_waits_for_a_stalled_database_instead_of_dropping_what_the_bus_still_holds(database, tmp_path):
    engine = database.engine()
    recorder = Recorder(engine, stale_after_s=None, max_pending=50, spool=tmp_path / "spool")
    run_id = new_run_id()
    with EventBus() as bus:
        recorder.attach(bus, maxsize=1000)
        bus.publish(every_kind_of_event(run_id)[0])
        recorder.flush()
        # Held for 6 s: longer than the bus's 5 s stop wait that close() used to give up after.
        holder = hold_write_lock(database, database.engine(), 6.0)
        for i in range(500):  # the recorder's buffer fills; the rest waits on the bus
            bus.publish(Measurement(run_id=run_id, step_index=0, name="v", value=float(i)))
        bus.publish(RunFinished(run_id=run_id, status=RunStatus.PASSED))
        recorder.close()
        holder.join()

    assert sorted(measurements(engine, run_id)) == [float(i) for i in range(500)]
    with engine.connect() as conn:
        assert conn.execute(select(Run.status).where(Run.id == run_id)).scalar_one() == "passed"


def test_a_reader_with_a_skewed_clock_does_not_mark_a_live_run_interrupted(engine, monkeypatch, tmp_path):
    real_time = time.time
    with Recorder(engine, stale_after_s=None, heartbeat_interval_s=0.05, spool=tmp_path / "s") as live:
        run_id = new_run_id()
        live.handle(RunStarted(run_id=run_id, chip_serial="C-1", station_name="other", runbook_name="rb",
                               runbook_hash="h", host="another-station", pid=4242))
        live.flush()
        # The reader's clock runs a minute fast (and the writer's a minute slow): neither counts.
        monkeypatch.setattr(time, "time", lambda: real_time() + 60)
        assert mark_stale_runs(engine, stale_after_s=15) == []
        monkeypatch.setattr(time, "time", lambda: real_time() - 60)
        live.measurement("v", 1.0)
        live.flush()
        monkeypatch.setattr(time, "time", real_time)
        assert mark_stale_runs(engine, stale_after_s=15) == []
        live.finish_run(RunStatus.PASSED)
    with engine.begin() as conn:  # and a run whose heartbeat really is old is still found
        conn.execute(update(Run).where(Run.id == run_id).values(status="running", heartbeat_at=real_time() - 60))
    assert mark_stale_runs(engine, stale_after_s=15) == [run_id]


RECORDING_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from bringup.db.engine import make_engine
    from bringup.db.recorder import Recorder

    url, connect_args, spool = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    recorder = Recorder(make_engine(url, connect_args=connect_args), stale_after_s=None, spool=spool)
    print(recorder.start_run("CRASH-1"), flush=True)
    i = 0
    while True:  # records until killed
        recorder.measurement("v", float(i))
        i += 1
    """
)


@SQLITE_NOW_POSTGRES_SLOW
def test_a_killed_recorder_is_replayed_exactly_once_at_the_next_start(database, tmp_path):
    from polling import wait_until as poll

    engine = database.engine()
    spool = tmp_path / "spool"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", RECORDING_SCRIPT, database.url,
                              json.dumps(database.connect_args), str(spool)], stdout=subprocess.PIPE,
                             text=True, env=env)
    try:
        run_id = child.stdout.readline().strip()
        poll(lambda: len(measurements(engine, run_id)) > 1000, timeout=30, what="committed measurements")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
    journaled = [item for item in read_journal(journal_files(spool)[0]).items if type(item) is tuple]

    with Recorder(engine, spool=spool):  # the next start replays what the dead process left
        pass

    values = measurements(engine, run_id)
    assert len(values) == len(journaled) == len(set(values))
    assert sorted(values) == [float(i) for i in range(len(values))]
    with engine.connect() as conn:
        assert conn.execute(select(Run.status).where(Run.id == run_id)).scalar_one() == "interrupted"
    assert journal_files(spool) == []


def test_steps_and_run_end_reach_the_journal_and_the_database_at_once(engine, tmp_path):
    from polling import wait_until

    spool = tmp_path / "spool"

    def steps_recorded() -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Step).where(Step.status == "passed")).scalar_one()

    with Recorder(engine, stale_after_s=None, commit_interval_s=60, spool=spool) as recorder:
        run_id = recorder.start_run("C-1")
        recorder.handle(StepStarted(run_id=run_id, index=0, name="s", kind="wait"))
        recorder.handle(StepFinished(run_id=run_id, index=0, status=StepStatus.PASSED))
        # Not after the 60 s group interval: a step's end is fsync'd and committed now.
        wait_until(lambda: any(type(i) is StepFinished for f in journal_files(spool) for i in read_journal(f).items),
                   timeout=10, what="StepFinished in the journal")
        wait_until(lambda: steps_recorded() == 1, timeout=10, what="the step committed")
        recorder.finish_run(RunStatus.PASSED)


def test_a_journal_of_another_database_sharing_the_spool_is_left_alone(tmp_path):
    from bringup.db.engine import make_engine

    spool, saved = tmp_path / "spool", tmp_path / "saved"
    first, other = make_engine(f"sqlite:///{tmp_path / 'a.db'}"), make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    with Recorder(first, stale_after_s=None, spool=spool) as recorder:
        recorder.start_run("C-1")
        recorder.flush()
        shutil.copytree(spool, saved)

    assert replay_spool(other, saved) == []
    assert len(journal_files(saved)) == 1  # kept for a replay into its own database
    first.dispose()
    other.dispose()


def test_a_spool_that_cannot_be_written_does_not_stop_a_healthy_database(engine, tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the spool folder should be")
    told: list[str] = []
    with Recorder(engine, stale_after_s=None, spool=blocked, on_failure=told.append) as recorder:
        run_id = recorder.start_run("C-1")
        recorder.measurement("v", 1.0)
        recorder.finish_run(RunStatus.PASSED)

    assert told == []  # the run was not faulted: the database has everything
    assert measurements(engine, run_id) == [1.0]
    assert any("cannot write the recorder's journal" in r.getMessage() for r in caplog.records)


def test_a_journal_written_before_vector_results_had_a_golden_key_still_replays() -> None:
    """A bringup upgraded with a journal left in the spool: the older VectorResult (one value
    fewer) decodes with golden_key "", so replay records it and shares no golden."""
    from bringup.db.journal import _encode, decode
    from bringup.events import VectorResult

    event = VectorResult(run_id="r", step_index=0, vector_name="v", content_hash="ab" * 32, passed=True,
                         expected=(1,), actual=(1,), golden_key="cd" * 32)
    kind, values = _encode(event)
    older = (kind, values[:-1])  # as the journal holds it from before the field existed

    assert decode(older) == VectorResult(**{**{f: getattr(event, f) for f in event.__dataclass_fields__},
                                            "golden_key": ""})
