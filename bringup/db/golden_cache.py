"""Golden signatures from the results database, the disk cache behind it.

The recorder stores each golden signature in the `golden` table, under the `golden_key` the
step computed it by (vector content, reference core fingerprint, method), the first time a
result of the vector is recorded; this cache reads them back by that key (it never writes the
database: only the recorder does), so a station that shares a database reuses every golden any
station with the same reference core computed, and never one from another core. New goldens
go to the disk cache until their first result is recorded.

A database that does not answer is never a step's error: the cache says so once in the log,
serves from disk (or lets the golden be computed) and asks the database again only after
``retry_after_s``, so a run is not slowed by a connect timeout per vector.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from bringup.db.models import Golden
from bringup.messages import first_line
from bringup.vectors.golden import GoldenCache

log = logging.getLogger(__name__)


class DatabaseGoldenCache:
    def __init__(self, engine: Engine, fallback: GoldenCache, *, retry_after_s: float = 30.0) -> None:
        self.engine = engine
        self.fallback = fallback
        self.retry_after_s = retry_after_s
        self._down_until = 0.0
        self._told = False

    def get(self, key: str) -> bytes | None:
        golden = self._from_database(key)
        return golden if golden is not None else self.fallback.get(key)

    def _from_database(self, key: str) -> bytes | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            with self.engine.connect() as conn:
                return conn.execute(select(Golden.signature).where(Golden.key == key)).scalar()
        except SQLAlchemyError as exc:
            self._down_until = time.monotonic() + self.retry_after_s
            if not self._told:
                self._told = True
                log.warning("golden cache: the database does not answer (%s); computing goldens instead",
                            first_line(exc))
            return None

    def put(self, key: str, signature: bytes) -> None:
        self.fallback.put(key, signature)
