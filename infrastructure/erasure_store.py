"""Deletes what an erased organisation left in storage (application.ports.OrgDataPurger).

The event library has no delete (design/eventsourcing.md); its rows are deleted here with raw SQL by the
prefix every stored event of an organisation starts with (b"v1" ‖ org_id, infrastructure/event_cipher.py), so
no org column is needed: an index on exactly that expression (ORG_PREFIX) makes finding them independent of the
store's size. Global events (receipts, invoice numbers, billing runs) have no such prefix and stay.
SQLite files are then vacuumed and their write-ahead logs emptied; PostgreSQL tables are vacuumed."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from application.eventstore import EventStore
from application.retention import Kept, Pruned, Retention
from domain.erasure import ErasureReceipt
from infrastructure import audit_chain, signalling_memory, signalling_pg
from infrastructure.access_log import SqlAccessLog
from infrastructure.audit_chain import ChainStore
from infrastructure.auditor_tokens import AuditorTokens
from infrastructure.call_log import SqlCallLog
from infrastructure.crypto import h
from infrastructure.ephemeral import SqlEphemeral
from infrastructure.event_cipher import MAGIC
from infrastructure.keystore import Keystore
from infrastructure.log_files import log_dir, prune_log_files
from infrastructure.outbox import SqlOutbox
from infrastructure.reminder_numbers import SqlReminderNumbers
from infrastructure.retention_archive import SqlRetentionArchive
from infrastructure.sql import Cursor, Database, prune_table, scrub_sqlite_file, table_exists
from projections.runner import ProjectionRunner

# Tables of the state database, kept by adapters rather than projections, that hold an organisation's rows
# (call-log metadata, waiting reminder numbers, signalling membership).
ORG_TABLES = ("call_log", "reminder_numbers", "access_log")
ORG_TABLES_SIGNALLING = ("call_member",)
# How long the adapters' tables in the state database keep their rows (application/retention.py); the read
# models declare theirs themselves (projections/), the keystore its own.
STATE_TABLES: dict[str, Retention] = {
    **SqlEphemeral.retention, **SqlCallLog.retention, **SqlAccessLog.retention, **SqlReminderNumbers.retention,
    **SqlOutbox.retention, **AuditorTokens.retention, **signalling_memory.RETENTION, **signalling_pg.RETENTION,
    **SqlRetentionArchive.retention}
# The event store's own tables (their names differ between the library's two backends) and the audit chain.
EVENT_TABLES: dict[str, Retention] = {
    **dict.fromkeys(("stored_events", "sprechzimmer_events", "stored_snapshots", "sprechzimmer_snapshots"), Kept(
        "das Ereignisprotokoll, verschlüsselt unter dem Schlüssel der Organisation; bei ihrer Löschung gelöscht. "
        "Die IP-Präfixe darin sind unter Monatsschlüsseln versiegelt, die nach drei Monaten vernichtet werden")),
    **audit_chain.RETENTION}
# The stored state's first 18 bytes: magic ‖ org_id. The deletions below use these very expressions, so that
# each database uses the index on them instead of scanning every event.
ORG_PREFIX = {"sqlite": "substr(state, 1, 18)", "postgres": "substring(state from 1 for 18)"}


def receipt_stream(org_id: UUID) -> UUID:
    """The stream of the organisation's erasure receipt: ErasureReceipt.id_for(org_hash) as application/erasure.py
    computes it (an unkeyed hash of the random org id, so the receipt does not name the practice)."""
    return ErasureReceipt.id_for(h("vdc/v1/erasure-receipt", str(org_id)).hex())


class SqlOrgDataPurger:
    def __init__(self, events: EventStore, state_db: Database, keystore_db: Database, runner: ProjectionRunner,
                 ephemeral: SqlEphemeral, database_url: str | None, data_dir: Path,
                 clock: Callable[[], datetime]):
        self.events = events
        self.state_db = state_db
        self.keystore_db = keystore_db
        self.runner = runner
        self.ephemeral = ephemeral
        self.database_url = database_url
        self.data_dir = data_dir
        self.clock = clock
        self.chain = ChainStore(database_url, data_dir)
        self._index_organisation_prefix()

    def _index_organisation_prefix(self) -> None:
        statement = "CREATE INDEX IF NOT EXISTS {table}_org_prefix ON {table} (({start}))"
        if self.database_url is None:
            conn = self._sqlite_events()
            try:
                existing = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                for table in self._tables():
                    if table in existing:
                        conn.execute(statement.format(table=table, start=ORG_PREFIX["sqlite"]))
            finally:
                conn.close()
            return
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as pg:
            for table in self._tables():
                exists = pg.execute("SELECT to_regclass(%s)", (table,)).fetchone()
                if exists is not None and exists[0] is not None:
                    pg.execute(statement.format(table=table, start=ORG_PREFIX["postgres"]))

    # --- the event tables -------------------------------------------------------------------------

    def _tables(self) -> list[str]:
        tables = [self.events.recorder.events_table_name]  # type: ignore[attr-defined]
        snapshots = getattr(self.events, "snapshots", None)
        if snapshots is not None:
            tables.append(snapshots.recorder.events_table_name)
        return tables

    def _sqlite_events(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.data_dir / "events.sqlite"), isolation_level=None, timeout=30)
        conn.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten in place, not left in free pages
        return conn

    def _run(self, sql: str, org_id: UUID) -> dict[str, int]:
        """Runs `sql` (with {table} and one prefix parameter) on every event table, in one transaction. Before
        events are deleted, their audit-chain rows become tombstones (position and digest only), so the chain
        stays verifiable (issue 14), and each tombstone is noted with the organisation's erasure receipt, which
        `audit verify` expects to find in the history."""
        prefix = MAGIC + org_id.bytes
        tombstones = sql.startswith("DELETE")
        receipt = receipt_stream(org_id).hex
        events_table = self.events.recorder.events_table_name  # type: ignore[attr-defined]
        counts: dict[str, int] = {}
        if self.database_url is None:
            conn = self._sqlite_events()
            try:
                conn.execute("BEGIN" if sql.startswith("SELECT") else "BEGIN IMMEDIATE")
                existing = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                for table in self._tables():
                    if table in existing:
                        if tombstones and table == events_table:
                            conn.execute(self.chain.tombstone_sql(ORG_PREFIX["sqlite"]).replace("%s", "?"),
                                         (prefix,))
                            conn.execute(self.chain.tombstone_receipt_sql(ORG_PREFIX["sqlite"]).replace("%s", "?"),
                                         (receipt, prefix))
                        cur = conn.execute(sql.format(table=table, start=ORG_PREFIX["sqlite"]).replace("%s", "?"),
                                           (prefix,))
                        counts[table] = cur.fetchone()[0] if sql.startswith("SELECT") else cur.rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.close()
            return counts
        import psycopg

        with psycopg.connect(self.database_url) as pg, pg.transaction():
            for table in self._tables():
                exists = pg.execute("SELECT to_regclass(%s)", (table,)).fetchone()
                if exists is None or exists[0] is None:
                    continue
                if tombstones and table == events_table:
                    pg.execute(self.chain.tombstone_sql(ORG_PREFIX["postgres"]), (prefix,))
                    pg.execute(self.chain.tombstone_receipt_sql(ORG_PREFIX["postgres"]), (receipt, prefix))
                statement = sql.format(table=table, start=ORG_PREFIX["postgres"])
                pg_cur = pg.execute(statement, (prefix,))
                row = pg_cur.fetchone() if sql.startswith("SELECT") else None
                counts[table] = int(row[0]) if row else pg_cur.rowcount
        return counts

    def count_events(self, org_id: UUID) -> int:
        return sum(self._run("SELECT COUNT(*) FROM {table} WHERE {start} = %s", org_id).values())

    def delete_events(self, org_id: UUID) -> dict[str, int]:
        counts = self._run("DELETE FROM {table} WHERE {start} = %s", org_id)
        return {"events": sum(n for table, n in counts.items() if not table.endswith("snapshots")),
                "snapshots": sum(n for table, n in counts.items() if table.endswith("snapshots"))}

    # --- read models and ephemeral state ----------------------------------------------------------

    def forget(self, org_id: UUID, short_name: str | None, only: tuple[str, ...] | None = None,
               skip: tuple[str, ...] = ()) -> dict[str, int]:
        def ephemeral(cur: Cursor) -> dict[str, int]:
            counts = {"sessions_challenges_counters": self.ephemeral.forget(org_id, short_name, time.time(), cur)}
            tables = list(ORG_TABLES)
            # the signalling membership table exists once a call has been held (both dialects)
            tables += [t for t in ORG_TABLES_SIGNALLING if table_exists(cur, self.state_db.dialect, t)]
            for table in tables:
                counts[table] = int(cur.execute(f"DELETE FROM {table} WHERE org_id = %s", (str(org_id),)).rowcount)
            return counts

        return self.runner.forget(org_id, only=only, skip=skip, also=ephemeral if only is None else None)

    def declarations(self) -> dict[str, Retention]:
        """Every table of every database with its retention (the test compares it with the real schema)."""
        declared: dict[str, Retention] = {**EVENT_TABLES, **STATE_TABLES, **Keystore.retention,
                                          **self.runner.retention}
        for projection in self.runner.projections:
            declared.update(getattr(projection, "retention", {}))
        return declared

    def prune_before(self, cutoff: datetime) -> dict[str, int]:
        """Retention: the read models' and the adapters' `Pruned` tables, the month keys of event metadata and
        the server's access-log files, each up to `cutoff`."""
        def adapters(cur: Cursor) -> dict[str, int]:
            return {table: prune_table(cur, table, rule, cutoff) for table, rule in STATE_TABLES.items()
                    if isinstance(rule, Pruned) and table_exists(cur, self.state_db.dialect, table)}

        counts = self.runner.prune_before(cutoff, also=adapters)
        with self.keystore_db.transaction() as cur:
            counts.update({table: prune_table(cur, table, rule, cutoff) for table, rule in Keystore.retention.items()
                           if isinstance(rule, Pruned)})
        counts["access_log_files"] = prune_log_files(log_dir(self.data_dir), cutoff)
        return counts

    # --- physical removal -------------------------------------------------------------------------

    def scrub(self) -> None:
        if self.database_url is None:
            for name in ("events.sqlite", "state.sqlite", "keystore.sqlite"):
                path = self.data_dir / name
                if path.exists():
                    scrub_sqlite_file(path)
            return
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("VACUUM")
        keystore_url = getattr(self.keystore_db, "url", None)
        if keystore_url and keystore_url != self.database_url:
            with psycopg.connect(keystore_url, autocommit=True) as conn:
                conn.execute("VACUUM org_keys")

    def describe(self) -> dict[str, Any]:
        return {"backend": "sqlite" if self.database_url is None else "postgres", "tables": self._tables()}
