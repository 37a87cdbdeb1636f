"""Opening a new results database: the models' schema stamped at head vs replaying every migration.

    .venv/bin/python benchmarks/new_database.py [--rounds 21]

Each round opens a new SQLite file with ``make_engine`` (what a lab's first run, and every fresh
database of the test suite, does) and, alternating with it, builds another by running every
Alembic migration from an empty file (what ``make_engine`` did before). Both are timed from an
empty file to a database at head; the engine's creation is inside both. Also times reopening a
database already at head, the cost every later run pays.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from alembic import command

from bringup.db.engine import alembic_config, current_revision, head_revision, make_engine


def _new_through_make_engine(path: Path) -> float:
    start = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    elapsed = time.perf_counter() - start
    assert current_revision(engine) == head_revision()
    engine.dispose()
    return elapsed


def _new_through_every_migration(path: Path) -> float:
    start = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}", upgrade=False)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    elapsed = time.perf_counter() - start
    assert current_revision(engine) == head_revision()
    engine.dispose()
    return elapsed


def _reopen(path: Path) -> float:
    start = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _new_through_every_migration(Path(folder) / "warm-up.db")  # imports and script loading
        models, migrations, reopen = [], [], []
        for i in range(args.rounds):  # alternating, so drift hits both alike
            models.append(_new_through_make_engine(Path(folder) / f"m{i}.db"))
            migrations.append(_new_through_every_migration(Path(folder) / f"a{i}.db"))
            reopen.append(_reopen(Path(folder) / f"m{i}.db"))
    m, a, r = (statistics.median(x) * 1000 for x in (models, migrations, reopen))
    print(f"new database, make_engine (models + stamp): median {m:.1f} ms over {args.rounds} rounds")
    print(f"new database, every migration replayed:     median {a:.1f} ms")
    print(f"reopening a database at head:               median {r:.1f} ms")
    print(f"as a ratio: make_engine on a new database takes {m / a:.2f}x the migrations' time")


if __name__ == "__main__":
    main()
