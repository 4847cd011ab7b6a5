"""Another process commits while a transaction of ours is between its read and its write.

SQLite (WAL) refuses the write of a transaction that read an older snapshot at once, with
"database is locked" and no busy wait: a worker lane's commit between a scheduler tick's
or a push hook's read and its insert did just that (#19). ``commit_between`` makes that
commit happen, deterministically, right after the first SELECT from ``table``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def commit_between(engine: sa.Engine, table: str) -> Iterator[list[str]]:
    """Yields the statements after which the other process committed (one, once it did)."""
    assert engine.dialect.name == "sqlite", "SQLite's snapshot rule: mark the test sqlite_only"
    other = sqlite3.connect(engine.url.database, isolation_level=None)
    done: list[str] = []

    def commit_elsewhere(_conn, _cursor, statement, *_args) -> None:
        if not done and statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            other.execute("UPDATE lawyer SET max_per_day = 3")  # e.g. a lane's claim
            done.append(statement)

    sa.event.listen(engine, "after_cursor_execute", commit_elsewhere)
    try:
        yield done
    finally:
        sa.event.remove(engine, "after_cursor_execute", commit_elsewhere)
        other.close()
