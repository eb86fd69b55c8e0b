"""Ephemeral state (challenges, throttle hits, new sessions) commits without waiting for the disk; everything
else must stay fully durable, also after such a transaction and after one that could not even begin."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from infrastructure.sql import SqliteDatabase

FULL, NORMAL = 2, 1


def synchronous(db: SqliteDatabase) -> int:
    with db.transaction() as cur:
        level: int = cur.execute("PRAGMA synchronous").fetchone()[0]
    return level


def test_a_non_durable_transaction_leaves_the_connection_fully_durable(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "state.sqlite")
    with db.transaction(durable=False) as cur:
        assert cur.execute("PRAGMA synchronous").fetchone()[0] == NORMAL
        cur.execute("CREATE TABLE t (x INTEGER)")
        cur.execute("INSERT INTO t VALUES (1)")
    assert synchronous(db) == FULL
    with db.transaction() as cur:
        assert cur.execute("SELECT x FROM t").fetchall() == [(1,)]  # committed all the same
    db.close()


def test_a_transaction_that_cannot_begin_restores_full_durability(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    db = SqliteDatabase(path)
    db._conn.execute("PRAGMA busy_timeout=0")  # the other writer's lock fails BEGIN at once
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError), db.transaction(durable=False):
            pass
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert synchronous(db) == FULL
    db.close()
