"""The recorder: batched, lossless, flushed on exit, with heartbeats and resume support."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, update

from bringup.db.models import (
    EventLogRow,
    MeasurementRow,
    RailSampleRow,
    Run,
    Step,
    SweepPointRow,
    ThermalSampleRow,
    Vector,
)
from bringup.db.models import VectorResultRow as VR
from bringup.db.recorder import (
    Recorder,
    RecorderError,
    last_completed_step,
    mark_stale_runs,
    recorded_vector_keys,
)
from bringup.db.writer import unpack_words
from bringup.events import (
    Conditions,
    ConsoleLine,
    EventBus,
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
from bringup.limits import within as limit_check


def count(engine, table, **where) -> int:
    stmt = select(func.count()).select_from(table)
    for column, value in where.items():
        stmt = stmt.where(getattr(table.c, column) == value)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def run_started(run_id: str, *, resumed: bool = False) -> RunStarted:
    return RunStarted(
        run_id=run_id,
        chip_serial="C-001",
        station_name="bench-1",
        runbook_name="smoke",
        runbook_hash="h" * 64,
        runbook_text="steps: []",
        lot="L1",
        resumed=resumed,
    )


def vector_result(run_id: str, *, step: int, repeat: int = 0, passed: bool = True):
    actual = (0xDEADBEEF, 1) if passed else (0xDEADBEEF, 3)
    return VectorResult(
        run_id=run_id,
        step_index=step,
        vector_name="alu",
        content_hash="a" * 64,
        passed=passed,
        expected=(0xDEADBEEF, 1),
        actual=actual,
        first_mismatch_addr=None if passed else 0x8000_0004,
        flipped_bits=0 if passed else 2,
        repeat=repeat,
        conditions=Conditions(vdd_core_v=0.8, core_mhz=400.0, temperature_c=25.0),
    )


def test_limit_check_is_inclusive_and_nan_fails():
    assert limit_check(0.7, 0.7, 0.9) is True
    assert limit_check(0.91, 0.7, 0.9) is False
    assert limit_check(0.5, None, 0.9) is True
    assert limit_check(float("nan"), 0.7, 0.9) is False
    assert limit_check(5.0, None, None) is None


def test_measurement_api_limit_checks_and_records_conditions(engine):
    with Recorder(engine) as recorder:
        run_id = recorder.start_run("C-001", lot="L1")
        assert recorder.measurement("idd", 0.12, "A", 0.0, 0.1, core_mhz=400.0) is False
        assert recorder.measurement("vdd", 0.80, "V", 0.75, 0.85, vdd_core_v=0.8) is True
        assert recorder.measurement("temp", 31.0, "C") is None

    with engine.connect() as conn:
        rows = conn.execute(
            select(
                MeasurementRow.name, MeasurementRow.passed, MeasurementRow.core_mhz, MeasurementRow.vdd_core_v
            )
            .where(MeasurementRow.run_id == run_id)
            .order_by(MeasurementRow.id)
        ).all()
    assert rows == [("idd", False, 400.0, None), ("vdd", True, None, 0.8), ("temp", None, None, None)]


def test_measurement_without_a_run_says_how_to_fix_it(engine):
    with Recorder(engine) as recorder, pytest.raises(RecorderError, match="start_run"):
        recorder.measurement("vdd", 0.8, "V")


def test_everything_is_written_when_the_block_exits_by_an_exception(engine):
    with pytest.raises(KeyboardInterrupt), Recorder(engine, commit_interval_s=60) as recorder:
        run_id = recorder.start_run("C-001")
        for i in range(2500):
            recorder.measurement("v", float(i), "V", 0.0, 10_000.0)
        raise KeyboardInterrupt  # an operator's Ctrl-C mid-run

    assert count(engine, MeasurementRow.__table__, run_id=run_id) == 2500


def test_commits_reach_a_second_connection_without_flush(database, wait_until):
    writer_engine, reader_engine = database.engine(), database.engine()
    with Recorder(writer_engine, commit_interval_s=0.25) as recorder:
        run_id = recorder.start_run("C-001")
        for i in range(100):
            recorder.measurement("v", float(i))

        took = wait_until(
            lambda: count(reader_engine, MeasurementRow.__table__, run_id=run_id) == 100,
            timeout=3.0,
            what="a second connection to see 100 committed measurements",
        )
    assert took < 2.0  # 0.25 s commit interval plus a generous allowance for a busy machine


def test_the_commit_interval_never_delays_a_flush_or_the_close(database):
    # db_interval_s paces the database thread's commits; flush() and close() must not wait for it.
    engine = database.engine()
    recorder = Recorder(engine, db_interval_s=3600, heartbeat_interval_s=3600)
    run_id = recorder.start_run("C-001")
    recorder.flush(timeout=30)  # the first commit, which the pacing would otherwise hold for an hour
    for i in range(10):
        recorder.measurement("v", float(i))
    recorder.flush(timeout=30)
    assert count(engine, MeasurementRow.__table__, run_id=run_id) == 10
    recorder.measurement("v", 10.0)
    recorder.close(timeout=30)
    assert count(engine, MeasurementRow.__table__, run_id=run_id) == 11


def test_producers_held_by_back_pressure_do_not_wait_for_the_commit_interval(engine, wait_until):
    # Neither the journal's fsync interval nor the database's commit interval may hold them.
    recorder = Recorder(engine, max_pending=50, batch_rows=10_000, db_interval_s=3600,
                        commit_interval_s=3600, heartbeat_interval_s=3600)
    run_id = recorder.start_run("C-001")
    producer, _ = start_producer(recorder, 500)
    producer.join(60)
    assert not producer.is_alive(), "a full buffer must be written at once, not at the next interval"
    recorder.close(timeout=30)
    assert count(engine, MeasurementRow.__table__, run_id=run_id) == 500


def stall_writes(recorder: Recorder, gate: threading.Event) -> None:
    """The database stalls: every write waits for ``gate`` (bounded) before it goes through."""
    real_write = recorder._rows.write

    def stalled_write(conn, batch):
        gate.wait(30)
        real_write(conn, batch)

    recorder._rows.write = stalled_write


def start_producer(recorder: Recorder, count: int) -> tuple[threading.Thread, list[int]]:
    """A thread recording ``count`` measurements; the list says how many were accepted."""
    produced: list[int] = []

    def produce() -> None:
        for i in range(count):
            recorder.measurement("v", float(i))
            produced.append(i)

    producer = threading.Thread(target=produce)
    producer.start()
    return producer, produced


def test_a_slow_database_makes_producers_wait_and_loses_nothing(engine, wait_until):
    gate = threading.Event()  # the database stalls until the test has seen the producer wait
    recorder = Recorder(engine, max_pending=50, batch_rows=20)
    run_id = recorder.start_run("C-001")
    recorder.flush()
    stall_writes(recorder, gate)
    producer, produced = start_producer(recorder, 500)
    wait_until(lambda: len(produced) >= 50, what="the buffer to fill")
    producer.join(0.3)
    assert producer.is_alive(), "producer should be held by back-pressure"
    assert len(produced) <= 50 + 50  # one buffer in flight to the writer, one filling

    gate.set()
    producer.join(10)
    recorder.close()

    assert len(produced) == 500
    assert count(engine, MeasurementRow.__table__, run_id=run_id) == 500


def test_a_flood_is_committed_a_batch_at_a_time_and_every_row_once(engine):
    # Not one transaction of everything queued (PostgreSQL: 75,000 rows, 2 s behind the run,
    # which `tui --attach` saw in bursts): each holds whole journal batches, at most batch_rows.
    recorder = Recorder(engine, max_pending=1_000, batch_rows=100)
    run_id = recorder.start_run("C-001")
    sizes = []
    real_write = recorder._rows.write

    def counted_write(conn, batch):
        sizes.append(len(batch))
        real_write(conn, batch)

    recorder._rows.write = counted_write
    for i in range(5_000):
        recorder.measurement("v", float(i))
    recorder.close()

    assert count(engine, MeasurementRow.__table__, run_id=run_id) == 5_000
    assert max(sizes) <= 100, sizes
    assert sum(sizes) >= 5_000


def test_producers_waiting_on_a_stalled_database_leave_the_cpu_to_the_run(engine, wait_until):
    # While the database stalls, the run's rail monitor still needs the interpreter: a waiting
    # producer and the journal thread must sleep, not wake each other in a loop (they did, and
    # that also halved the recording throughput of every flood).
    gate = threading.Event()
    recorder = Recorder(engine, max_pending=50, batch_rows=20)
    run_id = recorder.start_run("C-001")
    recorder.flush()
    stall_writes(recorder, gate)
    producer, produced = start_producer(recorder, 500)
    wait_until(lambda: len(produced) >= 50, what="the buffer to fill")
    try:
        cpu_before = time.process_time()
        threading.Event().wait(1.0)  # a second of the stall, watched
        cpu_spent = time.process_time() - cpu_before
        assert producer.is_alive(), "the producer is held by back-pressure"
        assert cpu_spent < 0.3, f"{cpu_spent:.2f} s of CPU in 1 s of waiting: a busy loop"
    finally:
        gate.set()
        producer.join(10)
        recorder.close()
    assert count(engine, MeasurementRow.__table__, run_id=run_id) == 500


def test_a_stalled_database_ends_the_scripted_wait_and_keeps_what_came_before(engine, tmp_path):
    # Without a bus, nothing else bounds the wait: a script must hear that the database stalled.
    gate = threading.Event()
    recorder = Recorder(engine, max_pending=50, batch_rows=20, room_timeout_s=0.5,
                        spool=tmp_path / "spool")
    run_id = recorder.start_run("C-001")
    recorder.flush()
    stall_writes(recorder, gate)
    accepted = 0
    with pytest.raises(RecorderError, match=r"no room for 0.5 s .* this one is not recorded"):
        for i in range(500):
            recorder.measurement("v", float(i))
            accepted += 1
    assert 50 <= accepted < 500
    gate.set()
    recorder.close(timeout=30)
    with engine.connect() as conn:
        values = conn.execute(select(MeasurementRow.value).where(MeasurementRow.run_id == run_id)
                              .order_by(MeasurementRow.id)).scalars().all()
    assert values == [float(i) for i in range(accepted)]


def test_bus_events_are_recorded_in_every_table(engine):
    run_id = new_run_id()
    with EventBus() as bus, Recorder(engine) as recorder:
        recorder.attach(bus, maxsize=4)
        bus.publish(run_started(run_id))
        bus.publish(StepStarted(run_id=run_id, index=0, name="power on", kind="power"))
        bus.publish(RailSample(run_id=run_id, rail="vdd_core", volts=0.8, amps=0.12))
        bus.publish(
            Measurement(
                run_id=run_id, step_index=0, name="idd", value=0.12, units="A", low=0.0, high=0.5, passed=True
            )
        )
        bus.publish(ConsoleLine(run_id=run_id, text="monitor> "))
        bus.publish(vector_result(run_id, step=0, passed=False))
        bus.publish(StepFinished(run_id=run_id, index=0, status=StepStatus.FAILED, message="alu"))
        bus.publish(RunFinished(run_id=run_id, status=RunStatus.FAILED, reason="alu mismatch"))
        recorder.close()  # detaches from the bus after taking everything it holds

    with engine.connect() as conn:
        run = conn.execute(select(Run.__table__).where(Run.id == run_id)).one()
        step = conn.execute(select(Step.__table__).where(Step.run_id == run_id)).one()
        failure = conn.execute(select(VR.__table__).where(VR.run_id == run_id)).one()
        golden = conn.execute(select(Vector.golden)).scalar_one()
        log_kinds = (
            conn.execute(
                select(EventLogRow.kind).where(EventLogRow.run_id == run_id).order_by(EventLogRow.id)
            )
            .scalars()
            .all()
        )
    assert (run.status, run.reason, run.ended_at is not None) == ("failed", "alu mismatch", True)
    assert (step.status, step.message) == ("failed", "alu")
    assert unpack_words(failure.expected) == (0xDEADBEEF, 1) == unpack_words(golden)
    assert unpack_words(failure.actual) == (0xDEADBEEF, 3)
    assert (failure.first_mismatch_addr, failure.flipped_bits) == (0x8000_0004, 2)
    assert log_kinds == ["run", "console-rx", "run"]
    assert count(engine, RailSampleRow.__table__, run_id=run_id) == 1
    assert count(engine, MeasurementRow.__table__, run_id=run_id) == 1


def test_thermal_samples_and_sweep_progress_are_rows_not_log_lines(engine):
    run_id = new_run_id()
    hot = Conditions(vdd_core_v=0.7, core_mhz=800.0, temperature_c=85.0)
    with EventBus() as bus, Recorder(engine) as recorder:
        recorder.attach(bus)
        bus.publish(run_started(run_id))
        bus.publish(StepStarted(run_id=run_id, index=0, name="vmin", kind="vmin"))
        bus.publish(ThermalSample(run_id=run_id, setpoint_c=85.0, forcer_c=61.5, die_c=58.25,
                                  at_temperature=False, head="down", ts=100.0))
        bus.publish(ThermalSample(run_id=run_id, setpoint_c=85.0, forcer_c=None, die_c=None,
                                  at_temperature=True, head="x" * 50, ts=100.2))  # a forcer's odd word
        bus.publish(SweepPoint(run_id=run_id, step_index=0, conditions=hot, outcome=SweepOutcome.PASS,
                               vectors_passed=3, vectors_run=3, done=2, total=8, die_c=86.0))
        bus.publish(RunFinished(run_id=run_id, status=RunStatus.PASSED))
        recorder.close()

    with engine.connect() as conn:
        samples = conn.execute(
            select(ThermalSampleRow.time, ThermalSampleRow.setpoint_c, ThermalSampleRow.forcer_c,
                   ThermalSampleRow.die_c, ThermalSampleRow.at_temperature, ThermalSampleRow.head)
            .where(ThermalSampleRow.run_id == run_id).order_by(ThermalSampleRow.id)).all()
        point = conn.execute(select(SweepPointRow.done, SweepPointRow.total, SweepPointRow.temperature_c)
                             .where(SweepPointRow.run_id == run_id)).one()
        log_kinds = conn.execute(select(EventLogRow.kind).where(EventLogRow.run_id == run_id)).scalars().all()
    assert [tuple(s) for s in samples] == [(100.0, 85.0, 61.5, 58.25, False, "down"),
                                           (100.2, 85.0, None, None, True, "x" * 20)]
    assert tuple(point) == (2, 8, 85.0)
    assert "thermalsample" not in log_kinds  # no longer a repr() line in the timeline


def test_heartbeat_advances_while_the_run_is_open(engine, wait_until):
    with Recorder(engine, heartbeat_interval_s=0.05) as recorder:
        run_id = recorder.start_run("C-001")
        recorder.flush()

        def heartbeat_after_start() -> bool:
            with engine.connect() as conn:
                started, beat = conn.execute(
                    select(Run.started_at, Run.heartbeat_at).where(Run.id == run_id)
                ).one()
            return beat > started

        wait_until(heartbeat_after_start, timeout=3.0, what="the run's heartbeat to advance")
        recorder.finish_run(RunStatus.PASSED)


def test_start_marks_runs_with_a_stale_heartbeat_interrupted_and_spares_live_ones(engine):
    with Recorder(engine) as crashed:
        dead_run = crashed.start_run("C-001")
    with engine.begin() as conn:  # its process died a minute ago, mid-run
        conn.execute(update(Run).where(Run.id == dead_run).values(heartbeat_at=time.time() - 60))

    with Recorder(engine) as live:
        live_run = live.start_run("C-002")
        live.flush()
        with Recorder(engine, stale_after_s=15) as next_start:
            next_start.flush()
            with engine.connect() as conn:
                status = dict(conn.execute(select(Run.id, Run.status)).all())
                reason = conn.execute(select(Run.reason).where(Run.id == dead_run)).scalar_one()
        live.finish_run(RunStatus.PASSED)

    assert status == {dead_run: "interrupted", live_run: "running"}
    assert "bringup resume" in reason
    assert mark_stale_runs(engine, 15) == []  # already marked: nothing more to do


def test_a_resumed_run_records_each_vector_result_exactly_once(engine):
    run_id = new_run_id()
    with Recorder(engine) as first:
        first.handle(run_started(run_id))
        for index in (0, 1):
            first.handle(StepStarted(run_id=run_id, index=index, name=f"s{index}", kind="vectors"))
            first.handle(vector_result(run_id, step=index))
            first.handle(StepFinished(run_id=run_id, index=index, status=StepStatus.PASSED))
        first.handle(StepStarted(run_id=run_id, index=2, name="s2", kind="vectors"))
        first.handle(vector_result(run_id, step=2, repeat=0))
        # ... and the process dies here, with step 2 half done.

    assert last_completed_step(engine, run_id) == 1
    assert recorded_vector_keys(engine, run_id) == {(0, "a" * 64, 0), (1, "a" * 64, 0), (2, "a" * 64, 0)}

    with Recorder(engine) as resumed:
        resumed.handle(run_started(run_id, resumed=True))
        resumed.handle(StepStarted(run_id=run_id, index=2, name="s2", kind="vectors"))
        for repeat in (0, 1):  # repeat 0 is reported again by a careless resume
            resumed.handle(vector_result(run_id, step=2, repeat=repeat))
        resumed.handle(StepFinished(run_id=run_id, index=2, status=StepStatus.PASSED))
        resumed.handle(RunFinished(run_id=run_id, status=RunStatus.PASSED))
        assert resumed.last_completed_step(run_id) == 2

    assert count(engine, VR.__table__, run_id=run_id) == 4
    assert count(engine, VR.__table__, run_id=run_id, step_index=2) == 2
    with engine.connect() as conn:
        run = conn.execute(select(Run.status, Run.resume_count).where(Run.id == run_id)).one()
    assert tuple(run) == ("passed", 1)


def test_a_database_that_refuses_writes_for_good_is_reported_once(engine):
    from sqlalchemy import text

    told: list[str] = []
    recorder = Recorder(engine, stale_after_s=None, on_failure=told.append)
    recorder.start_run("BROKEN-1")
    recorder.flush()
    with engine.begin() as conn:  # someone drops a table under a running recorder
        conn.execute(text("DROP TABLE measurement"))
    recorder.measurement("v", 1.0)
    with pytest.raises(RecorderError, match=r"stopped taking writes: \w+: (no such table|relation \"measurement\" does not exist)"):
        recorder.flush(timeout=30)
    assert len(told) == 1 and "stopped taking writes" in told[0] and "bringup db replay" in told[0]
    with pytest.raises(RecorderError):
        recorder.close()
