"""History queries on a big database: each query in-process and as the command a user types.

    python benchmarks/history_queries.py [--scale 1.0] [--repeats 5] [--cache DIR]

Builds (once, cached in a temp folder) a database in the project's real schema, migrated by
Alembic, then filled with raw sqlite3 executemany: 1,000 chips in 10 lots, one run each,
1,000 vector results per chip (5 vectors x 10 voltages x 4 clocks x 5 temperatures) = 1M, and
10,000 measurements per chip = 10M. `--scale 0.1` shrinks every count by ten (chips stay 1,000
at scale >= 0.1; below, chips shrink too). Then times, median of `--repeats`:

- in-process: the query functions on an open SQLAlchemy engine (what the TUI and reports call);
- command: `bringup query ...` in a fresh process, output piped (what a user waits for);
- baselines measured in the same run: a bare `python -c pass` (interpreter start), and the
  previous Vmin SQL (per-point aggregate computed twice) against today's, both through sqlite3.

Goal (issue 11): `bringup query vmin --lot` < 0.3 s as a whole command.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CHIPS, LOTS = 1_000, 10
VECTORS = ("alu", "branch", "march", "muldiv", "random-1")
VOLTS = tuple(round(0.60 + 0.025 * i, 3) for i in range(10))
CLOCKS = (400.0, 600.0, 800.0, 1000.0)
TEMPERATURES = (-40.0, 0.0, 25.0, 85.0, 125.0)
MEASUREMENTS_PER_CHIP = 10_000
MEASUREMENT_NAMES = ("VDD_CORE current", "VDD_SRAM current", "VDD_IO current", "die temperature",
                     "VDD_CORE voltage", "leakage", "ring oscillator", "PLL lock time")
GOAL_VMIN_COMMAND_S = 0.3

# The Vmin SQL before issue 11, as SQLAlchemy rendered it: the per-point aggregate is an inline
# subquery used twice (once for the points, once for each corner's highest failure).
_OLD_POINTS = """(SELECT run.chip_id AS chip_id, vr.core_mhz AS core_mhz, vr.temperature_c AS temperature_c,
         vr.vdd_core_v AS vdd, SUM(CASE WHEN vr.passed = 0 THEN 1 ELSE 0 END) AS failures
  FROM vector_result vr JOIN run ON run.id = vr.run_id JOIN chip ON chip.id = run.chip_id
  WHERE chip.lot = :lot AND vr.vdd_core_v IS NOT NULL
  GROUP BY run.chip_id, vr.core_mhz, vr.temperature_c, vr.vdd_core_v)"""
OLD_VMIN_SQL = f"""
SELECT chip.serial, chip.wafer, chip.die_x, chip.die_y, points.core_mhz, points.temperature_c, MIN(points.vdd)
FROM {_OLD_POINTS} AS points JOIN chip ON chip.id = points.chip_id
LEFT JOIN (SELECT p.chip_id, p.core_mhz, p.temperature_c, MAX(p.vdd) AS vdd FROM {_OLD_POINTS} AS p
           WHERE p.failures > 0 GROUP BY p.chip_id, p.core_mhz, p.temperature_c) AS hf
  ON hf.chip_id = points.chip_id AND hf.core_mhz IS points.core_mhz
     AND hf.temperature_c IS points.temperature_c
WHERE points.failures = 0 AND (hf.vdd IS NULL OR points.vdd > hf.vdd)
GROUP BY chip.serial, chip.wafer, chip.die_x, chip.die_y, points.core_mhz, points.temperature_c
ORDER BY chip.serial, points.core_mhz, points.temperature_c
"""


def build(path: Path, scale: float) -> None:
    """The database, migrated by the project's own code, filled with raw executemany."""
    from bringup.db.engine import make_engine
    from bringup.dblocation import analyze

    chips = CHIPS if scale >= 0.1 else max(10, int(CHIPS * scale * 10))
    vectors_per_chip = max(20, int(len(VECTORS) * len(VOLTS) * len(CLOCKS) * len(TEMPERATURES) * scale))
    measurements_per_chip = max(10, int(MEASUREMENTS_PER_CHIP * scale))
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")  # the real schema, every index, at head
    engine.dispose()
    rng = random.Random(11)
    db = sqlite3.connect(partial)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # a benchmark fixture: a crash rebuilds it
    now = time.time() - 86_400
    db.execute("INSERT INTO station (id, name) VALUES (1, 'bench-1')")
    db.execute("INSERT INTO runbook (id, name, content_hash, text) VALUES (1, 'overnight', ?, '')",
               ("0" * 64,))
    db.executemany("INSERT INTO vector (id, content_hash, name, golden) VALUES (?, ?, ?, ?)",
                   [(i + 1, f"{i:064d}", name, b"\0" * 8) for i, name in enumerate(VECTORS)])
    corners = [(v, mhz, t) for mhz in CLOCKS for t in TEMPERATURES for v in VOLTS]
    for chip in range(chips):
        lot = f"L{chip % LOTS:03d}"
        run_id = f"{chip:032x}"
        started = now + chip * 60
        db.execute("INSERT INTO chip (id, serial, lot, wafer, die_x, die_y) VALUES (?, ?, ?, ?, ?, ?)",
                   (chip + 1, f"SIM-{chip:04d}", lot, chip // 100, chip % 10, chip // 10 % 10))
        db.execute("INSERT INTO run (id, chip_id, station_id, runbook_id, operator, status, reason,"
                   " started_at, ended_at, heartbeat_at, software_version, resume_count, host, pid)"
                   " VALUES (?, ?, 1, 1, 'bench', 'failed', '', ?, ?, ?, '0.1.0', 0, '', 0)",
                   (run_id, chip + 1, started, started + 50, started + 50))
        offset = rng.gauss(0.0, 0.02)
        results = []
        for n in range(vectors_per_chip):
            vdd, mhz, celsius = corners[n // len(VECTORS) % len(corners)]
            vmin = 0.62 + 0.00008 * mhz + 0.0004 * abs(celsius - 25) + offset
            passed = vdd >= vmin if abs(vdd - vmin) > 0.01 else rng.random() < 0.5
            step, vector_id = n // len(VECTORS), n % len(VECTORS) + 1
            repeat = n // (len(VECTORS) * len(corners))
            results.append((run_id, step, vector_id, repeat, passed, None if passed else 0x80001000,
                            0 if passed else 0x10, started + n * 0.01, 0.001, vdd, mhz, celsius))
        db.executemany("INSERT INTO vector_result (run_id, step_index, vector_id, repeat, passed,"
                       " first_mismatch_addr, flipped_bits, time, duration_s, vdd_core_v, core_mhz,"
                       " temperature_c)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", results)
        measurements = []
        for n in range(measurements_per_chip):
            vdd, mhz, celsius = corners[n % len(corners)]
            value = rng.random()
            measurements.append((run_id, n // 50, MEASUREMENT_NAMES[n % len(MEASUREMENT_NAMES)], value, "A",
                                 0.0, 0.95, value <= 0.95, started + n * 0.001, vdd, mhz, celsius))
        # The chip's Vmin search: one `vmin` measurement per clock and temperature, as the vmin
        # step records it (`bringup query vmin` reads these).
        for mhz in CLOCKS:
            for celsius in TEMPERATURES:
                vmin = round(0.62 + 0.00008 * mhz + 0.0004 * abs(celsius - 25) + offset, 3)
                measurements.append((run_id, 999, "vmin", vmin, "V", None, None, None, started + 45,
                                     None, mhz, celsius))
        db.executemany("INSERT INTO measurement (run_id, step_index, name, value, units, low, high, passed,"
                       " time, vdd_core_v, core_mhz, temperature_c)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       measurements)
        if chip % 50 == 49:
            db.commit()
            print(f"  built {chip + 1}/{chips} chips", file=sys.stderr, flush=True)
    db.commit()
    db.close()
    engine = make_engine(f"sqlite:///{partial}", upgrade=False)
    analyze(engine)  # what `bringup db upgrade` does: fresh statistics for the planner
    engine.dispose()
    partial.rename(path)


def median_time(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def command(*args: str) -> Callable[[], object]:
    argv = [sys.executable, "-m", "bringup.cli", *args]
    return lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bringup-bench")
    options = parser.parse_args()

    from bringup.dblocation import migration_head

    options.cache.mkdir(parents=True, exist_ok=True)
    path = options.cache / f"history-{options.scale:g}-{migration_head()}.db"
    if not path.exists():
        print(f"building {path} (once; cached) ...", file=sys.stderr)
        start = time.perf_counter()
        build(path, options.scale)
        print(f"  built in {time.perf_counter() - start:.0f} s", file=sys.stderr)

    from bringup.db import queries
    from bringup.dblocation import open_readonly

    db = str(path)
    raw = sqlite3.connect(db)
    counts = {t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("chip", "vector_result", "measurement")}
    lot, chip = "L003", "SIM-0003"
    run_a, run_b = f"{3:032x}", f"{13:032x}"
    engine = open_readonly(db)
    print(f"database: {counts['chip']:,} chips, {counts['vector_result']:,} vector results, "
          f"{counts['measurement']:,} measurements ({path.stat().st_size / 1e9:.2f} GB)")

    r = options.repeats
    python_start = median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), r)
    from bringup.db.fastread import VMIN_BY_LOT_SQL

    old_rows = raw.execute(OLD_VMIN_SQL, {"lot": lot}).fetchall()
    assert raw.execute(VMIN_BY_LOT_SQL, {"lot": lot}).fetchall() == old_rows, "new Vmin SQL disagrees"
    raw_vmin_old = median_time(lambda: raw.execute(OLD_VMIN_SQL, {"lot": lot}).fetchall(), r)
    raw_vmin_new = median_time(lambda: raw.execute(VMIN_BY_LOT_SQL, {"lot": lot}).fetchall(), r)
    rows = [
        ("vmin --lot (Vmin searches)", lambda: queries.vmin_searches(engine, lot),
         command("query", "vmin", "--lot", lot, "--db", db)),
        ("Vmin from vector results (history API)", lambda: queries.vmin_by_chip(engine, lot), None),
        ("failing --lot", lambda: queries.failing_vectors(engine, lot=lot),
         command("query", "failing", "--lot", lot, "--db", db)),
        ("diff A B", lambda: queries.compare_runs(engine, run_a, run_b),
         command("query", "diff", run_a, run_b, "--db", db)),
        ("runs", lambda: queries.list_runs(engine), command("query", "runs", "--db", db)),
        ("measurements --chip --celsius 85 (csv)",
         lambda: sum(1 for _ in queries.iter_measurements(
             engine, queries.HistoryFilter(chip=chip, celsius=queries.Span(85.0, 85.0)))),
         command("query", "measurements", "--chip", chip, "--celsius", "85", "--format", "csv", "--db", db)),
    ]
    print(f"baseline: python -c pass {python_start * 1000:.0f} ms")
    print(f"Vmin SQL through sqlite3: old (aggregate twice) {raw_vmin_old * 1000:.0f} ms, "
          f"new (once) {raw_vmin_new * 1000:.0f} ms: {raw_vmin_new / raw_vmin_old:.2f}x")
    print(f"{'query':42} {'in-process':>11} {'command':>9} {'command - python start':>24}")
    for name, in_process, as_command in rows:
        t_in = median_time(in_process, r)
        if as_command is None:  # a Python API call with no command of its own
            print(f"{name:42} {t_in * 1000:9.0f} ms")
            continue
        t_cmd = median_time(as_command, r)
        extra = ""
        if name.startswith("vmin --lot"):
            verdict = "met" if t_cmd < GOAL_VMIN_COMMAND_S else "NOT met"
            extra = f"  (goal < {GOAL_VMIN_COMMAND_S} s: {verdict})"
        own = (t_cmd - python_start) * 1000
        print(f"{name:42} {t_in * 1000:9.0f} ms {t_cmd * 1000:6.0f} ms {own:21.0f} ms{extra}")
    engine.dispose()


if __name__ == "__main__":
    main()
