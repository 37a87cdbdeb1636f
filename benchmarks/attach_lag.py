"""Attach lag: from a result's commit (by a recorder in another process) to the follower seeing it.

A child process records a run with the real Recorder and, after each committed batch, sends its
commit time down a pipe (on PostgreSQL it also NOTIFYs `bringup_results`, as the recorder does
once R's change is merged). The parent follows the run with the TUI's RunFollower (what
`bringup tui --attach` uses) and notes when each result appears. Prints the median and p90 lag
per backend, and the ratio to the 0.5 s budget; on PostgreSQL the baseline is the same follower
without notifies (polling only).

    .venv/bin/python benchmarks/attach_lag.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import threading
import time
import uuid

from sqlalchemy import text

from bringup.db.engine import make_engine
from bringup.db.recorder import Recorder
from bringup.events import Log, RunStarted
from bringup.tui.follow import NOTIFY_CHANNEL, RunFollower, open_read_only

RESULTS = 30
BUDGET_S = 0.5


def writer(url: str, run_id: str, notify: bool, commits: mp.Queue, go: mp.Event) -> None:
    engine = make_engine(url)
    with Recorder(engine, stale_after_s=None) as recorder:
        recorder.handle(RunStarted(run_id=run_id, chip_serial="BENCH", station_name="bench",
                                   runbook_name="lag", runbook_hash=run_id,
                                   runbook_text="name: lag\nsteps:\n  - step: power_on\n"))
        recorder.flush()
        go.wait(30)
        for i in range(RESULTS):
            recorder.handle(Log(run_id=run_id, text=f"result {i}"))
            recorder.flush()  # returns once the batch is committed
            if notify:
                with engine.begin() as conn:
                    conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}, '{run_id}'"))
            commits.put((i, time.time()))
            time.sleep(0.15)  # results arrive spaced, as a run's do
    engine.dispose()


def measure(url: str, *, notify: bool) -> list[float]:
    run_id = uuid.uuid4().hex
    commits: mp.Queue = mp.Queue()
    go = mp.Event()
    child = mp.Process(target=writer, args=(url, run_id, notify, commits, go))
    child.start()
    seen: dict[int, float] = {}
    started = threading.Event()

    def watcher(event):
        if isinstance(event, RunStarted):
            started.set()
        if isinstance(event, Log) and event.text.startswith("result "):
            seen[int(event.text.split()[1])] = time.time()

    follower = None
    deadline = time.monotonic() + 30
    while follower is None and time.monotonic() < deadline:
        try:
            engine = open_read_only(url)
            follower = RunFollower(engine, run_id, watcher).start()
        except Exception:
            time.sleep(0.1)
    started.wait(30)
    go.set()
    committed = dict(commits.get(timeout=60) for _ in range(RESULTS))
    child.join(60)
    deadline = time.monotonic() + 10
    while len(seen) < RESULTS and time.monotonic() < deadline:
        time.sleep(0.05)
    follower.stop()
    follower.engine.dispose()
    return [seen[i] - committed[i] for i in range(RESULTS) if i in seen]


def report(label: str, lags: list[float]) -> float:
    median = statistics.median(lags)
    p90 = statistics.quantiles(lags, n=10)[-1]
    print(f"{label:34s} median {median * 1000:6.0f} ms  p90 {p90 * 1000:6.0f} ms  "
          f"({median / BUDGET_S:.2f} of the 0.5 s budget, {len(lags)} results)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report("sqlite (poll 0.1 s)", measure(f"sqlite:///{folder}/lab.db", notify=False))
    try:
        polled = report("postgresql, no notify (baseline)", measure(args.pg, notify=False))
        woken = report("postgresql, LISTEN/NOTIFY", measure(args.pg, notify=True))
        print(f"notify vs polling on postgresql: {woken / polled:.2f}x the lag")
    except Exception as exc:
        print(f"postgresql skipped: {exc}")


if __name__ == "__main__":
    main()
