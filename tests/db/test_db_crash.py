"""A recording process killed mid-run (SIGKILL: no cleanup runs) loses at most the last
fraction of a second, and its run is then marked interrupted.

The child records at a fast run's pace, not as a flood: a flood fills the recorder's buffer, and
then the database trails it by the buffer's depth (docs/database.md), which the journal covers
but this does not measure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select

from bringup.db.models import MeasurementRow, Run
from bringup.db.recorder import mark_stale_runs

RECORDING_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from bringup.db.engine import make_engine
    from bringup.db.recorder import Recorder

    url, connect_args = sys.argv[1], json.loads(sys.argv[2])
    recorder = Recorder(make_engine(url, connect_args=connect_args), stale_after_s=None)
    print(recorder.start_run("CRASH-1"), flush=True)
    i = 0
    while True:  # records until killed, at a fast run's pace (up to ~2,000 a second)
        recorder.measurement("v", float(i), "V", 0.0, 1e12)
        i += 1
        if i % 10 == 0:
            time.sleep(0.005)
    """
)


def test_a_killed_recorder_loses_under_a_second_and_its_run_is_marked_interrupted(database, wait_until):
    engine = database.engine()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", RECORDING_SCRIPT, database.url, json.dumps(database.connect_args)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        run_id = child.stdout.readline().strip()

        def stored() -> int:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).where(MeasurementRow.run_id == run_id)).scalar_one()

        wait_until(lambda: stored() > 1000, timeout=20, what="the child to commit measurements")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        killed_at = time.time()
        child.stdout.close()

    with engine.connect() as conn:
        last_committed = conn.execute(
            select(func.max(MeasurementRow.time)).where(MeasurementRow.run_id == run_id)
        ).scalar_one()
    assert killed_at - last_committed < 1.5  # commit interval 0.25 s, plus a busy machine

    # Its process is gone from this host: found dead at once, with a fresh heartbeat.
    assert mark_stale_runs(engine, stale_after_s=3600) == [run_id]
    with engine.connect() as conn:
        status, reason = conn.execute(select(Run.status, Run.reason).where(Run.id == run_id)).one()
    assert status == "interrupted"
    assert "crashed or was killed" in reason
