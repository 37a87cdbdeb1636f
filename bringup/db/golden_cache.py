"""Golden signatures from the results database, the disk cache behind it.

The recorder stores each vector's golden signature in the `vector` table the first time a
result of it is recorded; this cache reads them back (it never writes the database: only the
recorder does), so a station that shares a database reuses every golden any station computed.
New goldens go to the disk cache until their first result is recorded.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from bringup.db.models import Vector
from bringup.vectors.golden import GoldenCache


class DatabaseGoldenCache:
    def __init__(self, engine: Engine, fallback: GoldenCache) -> None:
        self.engine = engine
        self.fallback = fallback

    def get(self, content_hash: str) -> bytes | None:
        with self.engine.connect() as conn:
            golden = conn.execute(select(Vector.golden).where(Vector.content_hash == content_hash)).scalar()
        return golden if golden is not None else self.fallback.get(content_hash)

    def put(self, content_hash: str, signature: bytes) -> None:
        self.fallback.put(content_hash, signature)
