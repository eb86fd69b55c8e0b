"""A small SQL adapter over SQLite and PostgreSQL for the tables the event store does not own
(keystore, sessions, throttles, read models). SQL is written once with %s placeholders."""

from __future__ import annotations

import os
import select
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from application.retention import Pruned


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    @property
    def rowcount(self) -> int: ...


@dataclass(frozen=True)
class Result:
    """What one statement returned: its rows (none for a write) and how many rows it changed."""

    rows: list[Any]
    rowcount: int

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows


class Database(Protocol):
    dialect: str

    # A context manager yielding a Cursor. durable=False: for state that may be lost in a power failure (throttle
    # counters, login challenges, session creation and touches) the commit does not wait for the disk; a later
    # durable commit makes it durable too. A crash of the process loses nothing either way.
    def transaction(self, durable: bool = True) -> Any: ...

    # One statement, atomic by itself. With durable=False (what may be lost in a power failure, as above, and
    # every read: it writes nothing to lose) it is one round trip on PostgreSQL instead of BEGIN, the statement
    # and COMMIT.
    def once(self, sql: str, params: Sequence[Any] = (), durable: bool = True) -> Result: ...
    def close(self) -> None: ...


def _result(cur: Any) -> Result:
    return Result(cur.fetchall() if cur.description else [], cur.rowcount)


class _SqliteCursor:
    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _SqliteCursor:
        self._cursor.execute(sql.replace("%s", "?"), tuple(params))
        return self

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description


class SqliteDatabase:
    """One connection guarded by a lock: SQLite serialises writers anyway, and this keeps
    transactions atomic across the threads that asyncio.to_thread uses."""

    dialect = "sqlite"

    def __init__(self, path: Path | str):
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # every commit on disk, unless a transaction says otherwise
        self._conn.execute("PRAGMA secure_delete=ON")  # erased rows are overwritten, not left in free pages

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[_SqliteCursor]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                if not durable:  # in WAL mode, NORMAL skips the fsync of this commit (the next FULL one covers it)
                    cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("BEGIN IMMEDIATE")
                try:
                    yield _SqliteCursor(cur)
                except BaseException:
                    self._conn.rollback()
                    raise
                else:
                    self._conn.commit()
            finally:  # also when BEGIN failed (locked): the next transaction must not inherit NORMAL
                if not durable:
                    cur.execute("PRAGMA synchronous=FULL")
                cur.close()

    def once(self, sql: str, params: Sequence[Any] = (), durable: bool = True) -> Result:
        with self.transaction(durable) as cur:
            return _result(cur.execute(sql, params))

    def vacuum(self) -> None:
        with self._lock:
            self._conn.execute("VACUUM")

    def close(self) -> None:
        self._conn.close()


class PostgresDatabase:
    dialect = "postgres"

    def __init__(self, url: str, max_size: int = 4):
        from psycopg_pool import ConnectionPool

        self.url = url
        # checked before use: after a database restart or pg_terminate_backend a pooled connection is dead
        self._pool = ConnectionPool(url, min_size=1, max_size=max_size, open=True, timeout=10,
                                    check=check_pooled, kwargs={"autocommit": False})
        # Single statements that need not wait for the disk: autocommit, synchronous_commit off for the session.
        self._light = ConnectionPool(url, min_size=0, max_size=max_size, open=True, timeout=10, check=check_pooled,
                                     kwargs={"autocommit": True, "options": "-c synchronous_commit=off"})

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[Any]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if not durable:  # the commit returns before its WAL record is flushed
                cur.execute("SET LOCAL synchronous_commit TO OFF")
            yield cur

    def once(self, sql: str, params: Sequence[Any] = (), durable: bool = True) -> Result:
        if durable:
            with self.transaction() as cur:
                return _result(cur.execute(sql, params))
        with self._light.connection() as conn:
            return _result(conn.execute(sql, params))

    def close(self) -> None:
        self._light.close()
        self._pool.close()


def server_went_away(conn: Any) -> bool:
    """Whether an idle pooled connection has heard from its server: a restart or pg_terminate_backend leaves
    its error message or the end of the stream waiting on the socket, where a healthy idle connection has
    nothing to read (pool connections LISTEN to nothing)."""
    if conn.closed:
        return True
    poller = select.poll()  # not select(): a web worker holding a thousand sockets has descriptors above 1024
    try:
        poller.register(conn.fileno(), select.POLLIN)
    except (OSError, ValueError):
        return True
    return bool(poller.poll(0))


def check_pooled(conn: Any) -> None:
    """The pool's check before it lends a connection: the library's check (an empty query) only when the server
    has said something, instead of a round trip on every loan, which was a quarter of the round trips of a
    login or of a read-model catch-up. Raising makes the pool replace the connection."""
    from psycopg_pool import ConnectionPool

    if server_went_away(conn):
        ConnectionPool.check_connection(conn)


SCHEMA_LOCK = 7_261_000  # pg_advisory_lock key: one process at a time creates tables, types and functions


@contextmanager
def schema_lock(url: str | None) -> Iterator[None]:
    """Held while a process creates the schema (event store, keystore, read models, state tables).

    PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe against itself: two sessions creating the same table
    at the same moment both pass the check and the second fails with `UniqueViolation` on
    `pg_type_typname_nsp_index`. Every process that may be first (each web worker, the worker, the CLI) takes
    this session-level lock on a connection of its own, so the second one finds everything in place. The
    embedded SQLite store is kept by one process and needs no lock."""
    if not url:
        yield
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def private_dir(path: Path) -> None:
    """The data directory holds databases, keys and invoices: only the service's user may list it (§8a.9)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def private_file(path: Path) -> None:
    """A database file created 0600 before SQLite opens it; SQLite gives its -wal/-shm files the same mode."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def open_database(url: str | None, sqlite_path: Path) -> Database:
    if url:
        return PostgresDatabase(url)
    private_file(sqlite_path)
    return SqliteDatabase(sqlite_path)


def scrub_sqlite_file(path: Path | str) -> None:
    """Make deleted rows unrecoverable from a SQLite file: rebuild it (VACUUM writes only live rows) and empty
    the write-ahead log, which still holds old copies of changed pages until it is checkpointed."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    try:
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def table_exists(cur: Cursor, dialect: str, table: str) -> bool:
    """For tables an adapter creates only when it is used (the signalling tables, say)."""
    sql = "SELECT to_regclass(%s)" if dialect == "postgres" else \
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = %s"
    row = cur.execute(sql, (table,)).fetchone()
    return row is not None and row[0] is not None


def prune_table(cur: Cursor, table: str, rule: Pruned, cutoff: datetime) -> int:
    """Deletes the rows of `table` that retention declares expired at `cutoff`; returns how many went."""
    if rule.unit == "month":  # "YYYY-MM": the cutoff's month goes too (deleting early is allowed, late is not)
        sql, limit = f"DELETE FROM {table} WHERE {rule.column} <= %s", cutoff.strftime("%Y-%m")
    else:
        sql, limit = f"DELETE FROM {table} WHERE {rule.column} < %s", cutoff.timestamp()  # type: ignore[assignment]
    return int(cur.execute(sql, (limit,)).rowcount)
