"""Recorder throughput on the path a run takes: Measurement events -> EventBus -> recorder -> rows.

Each trial publishes N limit-checked ``Measurement`` events on an ``EventBus`` with a
``Recorder`` attached, exactly as a runbook's ``measure`` steps do (the bus's lossless
subscription, the recorder's journal with its fsyncs, the batched writer, commits), and times
until every row is committed. In the same process the same rows go through a hand-written raw
``sqlite3`` ``executemany`` into an identical schema (same migrations, same pragmas, same
indexes), committed every 10,000 rows -- the fastest a Python program can put these rows in
SQLite. The figure of merit is events/raw; the target is >= 0.5.

Also printed, labelled: the scripted API's ``Recorder.measurement()`` shortcut (no event object,
no bus; no runbook step uses it) and PostgreSQL (events path, rows/s) when a server answers.

    .venv/bin/python benchmarks/recorder_throughput.py [--rows 200000] [--trials 3]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test | none]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bringup.db.engine import make_engine
from bringup.db.models import MeasurementRow
from bringup.db.recorder import Recorder
from bringup.db.writer import MEASUREMENT_COLUMNS
from bringup.events import Conditions, EventBus, Measurement
from bringup.limits import within

LOW, HIGH = 0.70, 0.90


def value_at(i: int) -> float:
    return 0.65 + (i % 300) * 0.001  # some fail low, most pass


def events_path(url: str, rows: int, connect_args: dict | None = None) -> float:
    """Measurement events published on the bus, as a run's measure steps publish them."""
    engine = make_engine(url, connect_args=connect_args or {})
    recorder = Recorder(engine, stale_after_s=None)
    with EventBus() as bus:
        recorder.attach(bus)
        run_id = recorder.start_run("BENCH-0001", lot="L1")
        recorder.flush()
        publish = bus.publish
        at = Conditions(vdd_core_v=0.8, core_mhz=400.0, temperature_c=25.0)
        # Built before the clock starts: a measure step makes its event whether or not anything
        # records it (a frozen dataclass costs ~2 us to build; see docs/benchmarks.md).
        events = [
            Measurement(run_id=run_id, step_index=0, name="vdd_core", value=value_at(i), units="V",
                        low=LOW, high=HIGH, passed=within(value_at(i), LOW, HIGH), conditions=at)
            for i in range(rows)
        ]
        start = time.perf_counter()
        for event in events:
            publish(event)
        recorder.close()  # returns once every event is journaled and committed
        elapsed = time.perf_counter() - start
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).where(MeasurementRow.run_id == run_id)).scalar_one()
    engine.dispose()
    assert stored == rows, f"stored {stored} of {rows} measurements"
    return rows / elapsed


def fast_path(url: str, rows: int, connect_args: dict | None = None) -> float:
    """The scripted API's shortcut; no runbook step takes this path."""
    engine = make_engine(url, connect_args=connect_args or {})
    with Recorder(engine, stale_after_s=None) as recorder:
        run_id = recorder.start_run("BENCH-0001", lot="L1")
        recorder.flush()
        measure = recorder.measurement
        start = time.perf_counter()
        for i in range(rows):
            measure(
                "vdd_core", value_at(i), "V", LOW, HIGH, vdd_core_v=0.8, core_mhz=400.0, temperature_c=25.0
            )
        recorder.flush()
        elapsed = time.perf_counter() - start
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).where(MeasurementRow.run_id == run_id)).scalar_one()
    engine.dispose()
    assert stored == rows, f"stored {stored} of {rows} measurements"
    return rows / elapsed


def raw_sqlite(path: Path, rows: int) -> float:
    make_engine(f"sqlite:///{path}").dispose()  # the identical schema, indexes included
    con = sqlite3.connect(path)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        con.execute(f"PRAGMA {pragma}")
    run_id = uuid.uuid4().hex
    con.execute("INSERT INTO station (id, name) VALUES (1, 's')")
    con.execute("INSERT INTO chip (id, serial) VALUES (1, 'c')")
    con.execute("INSERT INTO runbook (id, name, content_hash, text) VALUES (1, 'r', 'h', '')")
    con.execute(
        "INSERT INTO run (id, chip_id, station_id, runbook_id, operator, status, reason, "
        "started_at, heartbeat_at, software_version, resume_count) "
        "VALUES (?, 1, 1, 1, '', 'running', '', 0, 0, '', 0)",
        (run_id,),
    )
    con.commit()
    sql = (
        f"INSERT INTO measurement ({', '.join(MEASUREMENT_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(MEASUREMENT_COLUMNS))})"
    )
    start = time.perf_counter()
    batch = []
    for i in range(rows):
        value = value_at(i)
        batch.append(
            (
                run_id,
                0,
                "vdd_core",
                value,
                "V",
                LOW,
                HIGH,
                LOW <= value <= HIGH,
                time.time(),
                0.8,
                400.0,
                25.0,
            )
        )
        if len(batch) == 10_000:
            con.executemany(sql, batch)
            con.commit()
            batch = []
    if batch:
        con.executemany(sql, batch)
        con.commit()
    elapsed = time.perf_counter() - start
    con.close()
    return rows / elapsed


def postgres_schema_url(url: str) -> tuple[str, dict, str] | None:
    try:
        admin = make_engine(url, upgrade=False)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
    except Exception as exc:  # no server: report and go on
        print(f"postgresql: skipped ({url}: {exc.__class__.__name__})")
        return None
    return url, {"options": f"-csearch_path={schema}"}, schema


def drop_schema(url: str, schema: str) -> None:
    admin = make_engine(url, upgrade=False)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL URL, or 'none' to skip (a plain word would be a SQLite file)")
    args = parser.parse_args()

    ratios, fast_ratios, event_rates, fast_rates, raw_rates = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for trial in range(args.trials):
            # Alternate the order (ABBA) so drift from a busy machine cancels out in the medians.
            if trial % 2:
                raw_rate = raw_sqlite(Path(tmp) / f"raw{trial}.db", args.rows)
                event_rate = events_path(f"sqlite:///{tmp}/events{trial}.db", args.rows)
            else:
                event_rate = events_path(f"sqlite:///{tmp}/events{trial}.db", args.rows)
                raw_rate = raw_sqlite(Path(tmp) / f"raw{trial}.db", args.rows)
            fast_rate = fast_path(f"sqlite:///{tmp}/fast{trial}.db", args.rows)
            event_rates.append(event_rate)
            raw_rates.append(raw_rate)
            fast_rates.append(fast_rate)
            ratios.append(event_rate / raw_rate)
            fast_ratios.append(fast_rate / raw_rate)
            print(
                f"trial {trial + 1}: events path {event_rate:,.0f} rows/s, raw sqlite3 "
                f"{raw_rate:,.0f} rows/s, ratio {event_rate / raw_rate:.2f} (scripted "
                f"Recorder.measurement() {fast_rate:,.0f} rows/s, "
                f"{fast_rate / raw_rate:.2f})"
            )
    print(
        f"sqlite: events path median {statistics.median(event_rates):,.0f} rows/s, raw median "
        f"{statistics.median(raw_rates):,.0f} rows/s, median ratio {statistics.median(ratios):.2f}"
        f" (target >= 0.50) over {args.trials} trials of {args.rows:,} measurements, journal on"
    )
    print(
        f"sqlite: scripted Recorder.measurement() shortcut (not a run's path) median "
        f"{statistics.median(fast_rates):,.0f} rows/s, ratio {statistics.median(fast_ratios):.2f}"
    )

    target = None if args.postgres == "none" else postgres_schema_url(args.postgres)
    if target is not None:
        url, connect_args, schema = target
        try:
            pg_rates = [events_path(url, args.rows, connect_args) for _ in range(args.trials)]
        finally:
            drop_schema(url, schema)
        print(
            f"postgresql: events path median {statistics.median(pg_rates):,.0f} rows/s over "
            f"{args.trials} trials of {args.rows:,} measurements ({url})"
        )


if __name__ == "__main__":
    main()
