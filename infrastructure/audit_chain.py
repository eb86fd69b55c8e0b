"""The audit chain, written with the events (issue 14).

Every stored event gets a row in `audit_chain` in the same transaction as the event itself:
    digest_n = h("vdc/v1/audit-record", stream, version, type, stored state)
    chain_n  = h("vdc/v1/audit", chain_{n-1}, position, digest_n)        chain_0 = 32 zero bytes
The row is written by a subclass of the library's application recorder, after the insert, while the library's
write lock is held (PostgreSQL: the EXCLUSIVE table lock every insert takes; SQLite: the database write lock),
so the chain follows the notification order without gaps, whatever the number of writers.

Erasure deletes an organisation's events but marks their chain rows as tombstones: position and digest stay,
stream, type, timestamp and payload go, so the chain stays verifiable and the tombstone tells nothing about
the practice. The erasure also notes, per tombstone, the stream of the erasure receipt it belongs to
(`audit_tombstones`); the verifier reports a tombstone that no receipt in the history covers, i.e. events removed
outside the erasure procedure. Signed checkpoints (position, head, time) are kept in `audit_checkpoints` next to
the chain."""

from __future__ import annotations

import heapq
import sqlite3
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.sql import SQL, Identifier

from application.audit import GENESIS, ChainEntry, StoredCheckpoint, link, record_digest
from application.retention import Kept, Retention

CHAIN_TABLE = "audit_chain"
CHECKPOINT_TABLE = "audit_checkpoints"
TOMBSTONE_TABLE = "audit_tombstones"  # which erasure receipt made each tombstone (written by the purger)
RECEIPT_STARTED = "sprechzimmer.ErasureReceipt.Started"
RETENTION: dict[str, Retention] = {
    CHAIN_TABLE: Kept("Prüfkette des Ereignisprotokolls: Positionen und Digests, keine Inhalte; die Zeilen einer "
                      "gelöschten Organisation werden zu Grabsteinen"),
    CHECKPOINT_TABLE: Kept("signierte Prüfpunkte (Position, Kopf, Zeit des Betreibers), keine Daten der Praxen"),
    TOMBSTONE_TABLE: Kept("welches Löschprotokoll jeden Grabstein erklärt (Positionen und Kennungen der Protokolle), "
                          "keine Daten der Praxen; so lange wie die Prüfkette")}


def digest_of_stored(stored: StoredEvent) -> bytes:
    stream = stored.originator_id
    return record_digest(stream.bytes if isinstance(stream, UUID) else UUID(str(stream)).bytes,
                         stored.originator_version, stored.topic, stored.state)


def chain_rows(previous: bytes, positions: Sequence[int],
               stored: Sequence[StoredEvent]) -> list[tuple[int, bytes, bytes]]:
    rows = []
    for position, event in zip(positions, stored, strict=True):
        digest = digest_of_stored(event)
        previous = link(previous, position, digest)
        rows.append((position, digest, previous))
    return rows


# --- recorders: the chain row in the same transaction as the event ---------------------------------------------

_SQLITE_DDL = [
    f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position INTEGER PRIMARY KEY, digest BLOB NOT NULL, "
    "chain BLOB NOT NULL, tombstone INTEGER NOT NULL DEFAULT 0)",
    f"CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} (position INTEGER NOT NULL, head BLOB NOT NULL, "
    "at TEXT NOT NULL, public_key BLOB NOT NULL, signature BLOB NOT NULL, PRIMARY KEY (position, at))",
    f"CREATE TABLE IF NOT EXISTS {TOMBSTONE_TABLE} (position INTEGER PRIMARY KEY, receipt TEXT NOT NULL)",
]
_PG_DDL = [
    f"CREATE TABLE IF NOT EXISTS {{schema}}.{CHAIN_TABLE} (position BIGINT PRIMARY KEY, digest BYTEA NOT NULL, "
    "chain BYTEA NOT NULL, tombstone BOOLEAN NOT NULL DEFAULT FALSE)",
    f"CREATE TABLE IF NOT EXISTS {{schema}}.{CHECKPOINT_TABLE} (position BIGINT NOT NULL, head BYTEA NOT NULL, "
    "at TEXT NOT NULL, public_key BYTEA NOT NULL, signature BYTEA NOT NULL, PRIMARY KEY (position, at))",
    f"CREATE TABLE IF NOT EXISTS {{schema}}.{TOMBSTONE_TABLE} (position BIGINT PRIMARY KEY, receipt TEXT NOT NULL)",
]


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *_SQLITE_DDL]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        assert positions is not None
        # The INSERT above took the database's write lock: no other writer can append until this commits.
        c.execute(f"SELECT chain FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        rows = chain_rows(bytes(row[0]) if row else GENESIS, positions, stored_events)
        c.executemany(f"INSERT INTO {CHAIN_TABLE} (position, digest, chain) VALUES (?, ?, ?)", rows)
        return positions


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        schema = Identifier(self.datastore.schema)
        self.sql_create_statements.extend(SQL(ddl).format(schema=schema) for ddl in _PG_DDL)
        self._select_head = SQL(f"SELECT chain FROM {{0}}.{CHAIN_TABLE} ORDER BY position DESC LIMIT 1").format(
            schema)
        self._pending = threading.local()  # the head cursor of the insert running in this thread
        self._insert_chain = SQL(f"INSERT INTO {{0}}.{CHAIN_TABLE} (position, digest, chain) VALUES (%s, %s, %s)"
                                 ).format(schema)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # The database-function insert path has no hook inside its transaction.
        assert not self.datastore.enable_db_functions, "POSTGRES_ENABLE_DB_FUNCTIONS bypasses the audit chain"
        return super().insert_events(stored_events, **kwargs)

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # As the library does (lock, notify, insert), with the chain head read right after the lock, in the same
        # pipeline: under the EXCLUSIVE table lock the head is the last committed one, and no other writer can
        # append before this transaction commits. Its own cursor keeps the result apart from the insert's.
        self._lock_table(curs)
        self._notify_channel(curs)
        self._pending.head = curs.connection.cursor()
        self._pending.head.execute(self._select_head)
        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert positions is not None
        try:
            with self._pending.head as head_cursor:
                row = head_cursor.fetchone()
            rows = chain_rows(bytes(row["chain"]) if row else GENESIS, positions, stored_events)
            curs.executemany(self._insert_chain, rows)
        except Exception:
            # The library keeps the exception and leaves its transaction block normally, which would commit the
            # events without their chain rows; a failing statement makes that commit a rollback instead.
            curs.execute(SQL("SELECT 'audit chain not written'::int"))
            raise
        return positions


def recorder_topic(database_url: str | None) -> str:
    cls = ChainedSQLiteApplicationRecorder if database_url is None else ChainedPostgresApplicationRecorder
    return f"{cls.__module__}:{cls.__qualname__}"


# --- reading the chain and the checkpoints (verification, checkpoints, erasure) ---------------------------------

class ChainStore:
    """Raw SQL on the events database (the file events.sqlite, or DATABASE_URL)."""

    def __init__(self, database_url: str | None, data_dir: Path):
        self.database_url = database_url
        self.sqlite_path = data_dir / "events.sqlite"

    @property
    def postgres(self) -> bool:
        return self.database_url is not None

    @property
    def events_table(self) -> str:
        return "sprechzimmer_events" if self.postgres else "stored_events"

    @property
    def position_column(self) -> str:
        return "notification_id" if self.postgres else "rowid"

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor with %s placeholders in one transaction."""
        if self.postgres:
            import psycopg

            with psycopg.connect(self.database_url or "") as pg, pg.transaction(), pg.cursor() as cur:
                yield cur
            return
        conn = sqlite3.connect(str(self.sqlite_path), isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield _Qmark(conn.cursor())
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def tombstone_sql(self, prefix_expression: str) -> str:
        """Marks the chain rows of the events that the following DELETE (same WHERE) removes."""
        true = "TRUE" if self.postgres else "1"
        return (f"UPDATE {CHAIN_TABLE} SET tombstone = {true} WHERE position IN (SELECT {self.position_column} "
                f"FROM {self.events_table} WHERE {prefix_expression} = %s)")

    def tombstone_receipt_sql(self, prefix_expression: str) -> str:
        """Notes the erasure receipt (its stream id, first parameter) of every event the following DELETE (same
        WHERE, second parameter) removes. A rerun after a crash finds the notes already there."""
        insert = "INSERT INTO" if self.postgres else "INSERT OR IGNORE INTO"
        conflict = " ON CONFLICT (position) DO NOTHING" if self.postgres else ""
        return (f"{insert} {TOMBSTONE_TABLE} (position, receipt) SELECT {self.position_column}, %s "
                f"FROM {self.events_table} WHERE {prefix_expression} = %s{conflict}")

    def tombstone_receipts(self) -> dict[int, str]:
        """position → the receipt stream (32 hex digits) that erasure noted for that tombstone."""
        with self.transaction() as cur:
            rows = cur.execute(f"SELECT position, receipt FROM {TOMBSTONE_TABLE}").fetchall()
        return {int(r[0]): str(r[1]) for r in rows}

    def receipts(self) -> set[str]:
        """The streams (32 hex digits) of the erasure receipts whose `Started` event is in the stored history.
        Receipts are stored unencrypted (they carry no org_id), so their type is readable here."""
        with self.transaction() as cur:
            rows = cur.execute(f"SELECT originator_id FROM {self.events_table} WHERE topic = %s",
                               (RECEIPT_STARTED,)).fetchall()
        return {r[0].hex if isinstance(r[0], UUID) else UUID(str(r[0])).hex for r in rows}

    def head(self) -> tuple[int, bytes]:
        with self.transaction() as cur:
            row = cur.execute(f"SELECT position, chain FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1"
                              ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else (0, GENESIS)

    def chain_at(self, position: int) -> bytes | None:
        with self.transaction() as cur:
            row = cur.execute(f"SELECT chain FROM {CHAIN_TABLE} WHERE position = %s", (position,)).fetchone()
        return bytes(row[0]) if row else None

    def links(self, after: int, until: int) -> dict[int, bytes]:
        """The stored chain values of positions after..until (one query per page of a replay)."""
        with self.transaction() as cur:
            rows = cur.execute(f"SELECT position, chain FROM {CHAIN_TABLE} WHERE position > %s AND position <= %s",
                               (after, until)).fetchall()
        return {int(r[0]): bytes(r[1]) for r in rows}

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self.transaction() as cur:
            cur.execute(f"INSERT INTO {CHECKPOINT_TABLE} (position, head, at, public_key, signature) "
                        "VALUES (%s, %s, %s, %s, %s)", (checkpoint.position, checkpoint.head, checkpoint.at,
                                                         checkpoint.public_key, checkpoint.signature))

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self.transaction() as cur:
            rows = cur.execute(f"SELECT position, head, at, public_key, signature FROM {CHECKPOINT_TABLE} "
                               "ORDER BY position, at").fetchall()
        return [StoredCheckpoint(int(r[0]), bytes(r[1]), str(r[2]), bytes(r[3]), bytes(r[4])) for r in rows]

    def count(self) -> int:
        with self.transaction() as cur:
            row = cur.execute(f"SELECT COUNT(*) FROM {CHAIN_TABLE}").fetchone()
        return int(row[0])

    def backfill(self) -> int:
        """Chains the events stored before the chain existed (an upgrade): those rows are trusted as they are."""
        with self.transaction() as cur:
            if self.postgres:
                if cur.execute("SELECT to_regclass(%s)", (self.events_table,)).fetchone()[0] is None:
                    return 0
                cur.execute(f"LOCK TABLE {self.events_table} IN EXCLUSIVE MODE")
            # Only an empty chain is filled: an event without a chain row after the head is an insertion that
            # the verifier must report, not a row to adopt.
            if cur.execute(f"SELECT 1 FROM {CHAIN_TABLE} LIMIT 1").fetchone() is not None:
                return 0
            previous = GENESIS
            events = cur.execute(
                f"SELECT {self.position_column}, originator_id, originator_version, topic, state "
                f"FROM {self.events_table} ORDER BY {self.position_column}").fetchall()
            rows = []
            for position, stream, version, topic, state in events:
                digest = record_digest(_stream_bytes(stream), int(version), str(topic), bytes(state))
                previous = link(previous, int(position), digest)
                rows.append((int(position), digest, previous))
            if rows:
                cur.executemany(f"INSERT INTO {CHAIN_TABLE} (position, digest, chain) VALUES (%s, %s, %s)", rows)
        return len(rows)

    def _merged(self) -> str:
        return (f"SELECT c.position, c.digest, c.chain, c.tombstone, e.{self.position_column}, e.originator_id, "
                f"e.originator_version, e.topic, e.state FROM {CHAIN_TABLE} c FULL OUTER JOIN "
                f"{self.events_table} e ON e.{self.position_column} = c.position")

    @property
    def _stream(self) -> str:
        """The stream id as the verifier hashes it. PostgreSQL sends its 16 bytes (uuid_send): building a Python
        UUID per row only to take its bytes again would cost the walk as much as a hash."""
        return "uuid_send(e.originator_id)" if self.postgres else "e.originator_id"

    def _chained(self) -> str:
        """Chain rows with their events, in the chain's key order (no sort needed)."""
        return (f"SELECT c.position, c.digest, c.chain, c.tombstone, e.{self.position_column}, {self._stream}, "
                f"e.originator_version, e.topic, e.state FROM {CHAIN_TABLE} c LEFT JOIN {self.events_table} e "
                f"ON e.{self.position_column} = c.position ORDER BY c.position")

    def _unchained(self) -> str:
        """Events without a chain row: inserted behind the chain's back (normally none)."""
        pos = self.position_column
        return (f"SELECT NULL, NULL, NULL, NULL, e.{pos}, {self._stream}, e.originator_version, e.topic, e.state "
                f"FROM {self.events_table} e WHERE NOT EXISTS (SELECT 1 FROM {CHAIN_TABLE} c WHERE c.position = "
                f"e.{pos}) ORDER BY e.{pos}")

    def page(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Envelopes for the auditor API: position, stream, version, type, organisation, digest, chain — never
        a payload. Tombstones show only position, digest and chain."""
        key = f"COALESCE(c.position, e.{self.position_column})"
        with self.transaction() as cur:
            rows = cur.execute(f"{self._merged()} WHERE {key} > %s ORDER BY {key} LIMIT %s", (after, limit)
                               ).fetchall()
        return [_envelope(row) for row in rows]

    def entries(self, batch: int = 10_000) -> Iterator[ChainEntry]:
        """Chain rows and stored events merged by position, in order. A full outer join would sort the whole
        log; instead the chain is read in its key order and the (normally absent) unchained events are merged
        in. Both queries run in one snapshot."""
        def merged(chained: Iterator[ChainEntry], unchained: list[ChainEntry]) -> Iterator[ChainEntry]:
            return heapq.merge(chained, unchained, key=lambda entry: entry[0]) if unchained else chained

        if self.postgres:
            import psycopg

            with psycopg.connect(self.database_url or "") as pg:
                pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot for both queries
                unchained = list(_entries(pg.execute(self._unchained()).fetchall(), postgres=True))
                with pg.cursor(name="audit_verify") as cur:
                    cur.itersize = batch
                    cur.execute(self._chained())
                    yield from merged(_entries(cur, postgres=True), unchained)
            return
        conn = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
        try:
            conn.execute("BEGIN")  # one snapshot for the whole walk
            unchained = list(_entries(conn.execute(self._unchained()).fetchall(), postgres=False))
            yield from merged(_entries(conn.execute(self._chained()), postgres=False), unchained)
        finally:
            conn.close()


def _envelope(row: Sequence[Any]) -> dict[str, Any]:
    position, digest, chain, tombstone, event_position, stream, version, topic, state = row
    envelope: dict[str, Any] = {
        "position": int(position if position is not None else event_position),
        "digest": bytes(digest).hex() if digest is not None else None,
        "chain": bytes(chain).hex() if chain is not None else None, "tombstone": bool(tombstone)}
    if event_position is not None:
        state = bytes(state)
        stream_id = stream if isinstance(stream, UUID) else UUID(hex=str(stream))
        envelope.update(stream=str(stream_id), version=int(version), type=str(topic),
                        organisation=str(UUID(bytes=state[2:18])) if state[:2] == b"v1" else None)
    return envelope


def _stream_bytes(stream: Any) -> bytes:
    if isinstance(stream, UUID):
        return stream.bytes
    return bytes.fromhex(stream) if len(stream) == 32 else UUID(stream).bytes


def _entries(rows: Any, postgres: bool) -> Iterator[ChainEntry]:
    # Both drivers return bytes for the binary columns; the stream id comes from PostgreSQL as its 16 bytes
    # (ChainStore._stream), from SQLite as 32 hex digits.
    digest_of, fromhex = record_digest, bytes.fromhex
    for position, digest, chain, tombstone, event_position, stream, version, topic, state in rows:
        record = None
        if event_position is not None:
            try:
                record = digest_of(stream if postgres else fromhex(stream), version, topic, state)
            except (ValueError, TypeError, AttributeError, struct.error):  # no UUID any more: certainly altered
                record = b""
            if position is None:
                position = event_position
        yield position, digest, chain, bool(tombstone), record


class _Qmark:
    """sqlite3 with the %s placeholders the PostgreSQL statements use."""

    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._cursor.execute(sql.replace("%s", "?"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> sqlite3.Cursor:
        return self._cursor.executemany(sql.replace("%s", "?"), rows)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


class AuditKey:
    """The operator's Ed25519 audit key (SPRECHZIMMER_AUDIT_KEY, a hex seed)."""

    def __init__(self, seed: bytes):
        from nacl.signing import SigningKey

        self._key = SigningKey(seed)

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message).signature)

    def __repr__(self) -> str:
        return "AuditKey(<hidden>)"
