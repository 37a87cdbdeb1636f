"""Replay: journals left in the spool are written into the database, exactly once.

A journal stays in the spool when its recorder could not put every event in the database (the
database stopped taking writes) or never got to (a crash, kill -9). ``replay_spool`` writes each
such journal whose writer is gone (its file lock is free) and then deletes it. The database keeps
how far each journal is recorded (``recorded_journal``, written in the same transaction as the
rows), so events already there are skipped and a replay run twice writes nothing twice.

The run's status comes from the journal: its ``RunFinished`` when it has one (an ``error`` with
the database's reason, say); otherwise the run is marked ``interrupted`` if it is still
``running`` under the dead writer.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, update

from bringup.db.engine import database_identity
from bringup.db.journal import JournalContents, journal_files, read_journal, spool_dir, try_lock
from bringup.db.models import RecordedJournal, Run
from bringup.db.writer import RowWriter
from bringup.events import RunFinished, RunStatus

log = logging.getLogger(__name__)
CHUNK_EVENTS = 10_000


@dataclass(frozen=True)
class Replayed:
    path: Path
    run_id: str
    written: int  # events written now
    skipped: int  # events the database had already
    status: str
    torn: bool

    def describe(self) -> str:
        torn = " (its last record was cut short by a crash)" if self.torn else ""
        return (f"run {self.run_id}: {self.written} event(s) written, {self.skipped} already recorded, "
                f"status {self.status}{torn} -- from {self.path.name}")


def replay_spool(engine: Engine, folder: Path | None = None) -> list[Replayed]:
    """Write every journal in ``folder`` whose writer is gone into ``engine``; delete each.

    Journals of runs still recording (locked), and journals recorded for another database or
    schema that shares the folder, are left where they are.
    """
    done = []
    identity = None
    for path in journal_files(folder or spool_dir(engine.url)):
        fd = try_lock(path)
        if fd is None:
            continue  # its recorder is still writing it
        try:
            journal = read_journal(path)
            identity = identity or database_identity(engine)
            if journal.database and journal.database != identity:
                log.info("journal %s belongs to %s, not %s: left for its own replay", path.name,
                         journal.database, identity)
                continue
            done.append(replay_journal(engine, journal))
            path.unlink()
        finally:
            os.close(fd)
    return done


def replay_journal(engine: Engine, journal: JournalContents) -> Replayed:
    """Write the events of one journal that the database does not have yet (one transaction)."""
    rows = RowWriter(engine.dialect)
    with engine.begin() as conn:
        recorded = conn.execute(
            select(RecordedJournal.seq).where(RecordedJournal.journal_id == journal.journal_id)
        ).scalar_one_or_none() or 0
        todo = journal.items[recorded:]
        for start in range(0, len(todo), CHUNK_EVENTS):
            rows.write(conn, todo[start : start + CHUNK_EVENTS])
        rows.write_watermarks(conn, {journal.journal_id: (journal.run_id, len(journal.items))})
        if not any(type(item) is RunFinished for item in journal.items):
            # It ended without a verdict; if it is still 'running' under the dead writer, say so.
            conn.execute(
                update(Run)
                .where(Run.id == journal.run_id, Run.status == RunStatus.RUNNING.value,
                       Run.host == journal.host, Run.pid == journal.pid)
                .values(status=RunStatus.INTERRUPTED.value, ended_at=Run.heartbeat_at,
                        reason="recording stopped without an end (replayed from its journal): the process "
                               "crashed or was killed; `bringup resume` continues it")
            )
        rows.notify(conn, {journal.run_id})
        status = conn.execute(select(Run.status).where(Run.id == journal.run_id)).scalar_one_or_none()
    return Replayed(journal.path, journal.run_id, len(todo), min(recorded, len(journal.items)),
                    status or "not recorded", journal.torn)
