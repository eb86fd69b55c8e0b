"""Call-log metadata: who joined which appointment in which role, when, from which IP address.

Server-visible metadata by design (design/crypto.md §5): never a code, a token or patient data. It is kept
for at most three months: the retention job calls `prune_before(cutoff)`; the practice sees only the
entries of its own appointments (the query always filters by organisation). The IP address is sealed under the
organisation's read-model key (§8a.9), so a copy of the state database does not show who called from where."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from application.retention import Pruned, Retention
from infrastructure.readmodel_cipher import ReadModelCipher
from infrastructure.sql import Database

RETENTION = timedelta(days=90)  # "höchstens 3 Monate"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS call_log (org_id TEXT NOT NULL, appointment_id TEXT NOT NULL, peer_id TEXT NOT NULL,"
    " role TEXT NOT NULL, event TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, ip TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS call_log_appointment ON call_log (org_id, appointment_id, at)",
    "CREATE INDEX IF NOT EXISTS call_log_at ON call_log (at)",
)


class SqlCallLog:
    retention: ClassVar[dict[str, Retention]] = {"call_log": Pruned("at")}

    def __init__(self, db: Database, cipher: ReadModelCipher | None = None):
        self.cipher = cipher  # None only in tests of the table itself
        self.db = db
        with db.transaction() as cur:
            if db.dialect == "postgres":  # workers start at the same moment: CREATE TABLE IF NOT EXISTS races
                cur.execute("SELECT pg_advisory_xact_lock(7261002)")
            for statement in SCHEMA:
                cur.execute(statement)

    def record(self, org_id: str, appointment_id: str, peer_id: str, role: str, event: str, at: float,
               ip: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO call_log (org_id, appointment_id, peer_id, role, event, at, ip) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)", (org_id, appointment_id, peer_id, role, event, at,
                                                                 self._seal(org_id, ip)))

    def entries(self, org_id: str, appointment_id: str) -> list[dict[str, Any]]:
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT peer_id, role, event, at, ip FROM call_log WHERE org_id = %s AND "
                               "appointment_id = %s ORDER BY at", (org_id, appointment_id)).fetchall()
        return [{"peer_id": r[0], "role": r[1], "event": r[2], "at": r[3], "ip": self._open(org_id, r[4])}
                for r in rows]

    def _seal(self, org_id: str, ip: str) -> str:
        return self.cipher.seal(UUID(org_id), "call_log.ip", ip) if self.cipher else ip

    def _open(self, org_id: str, stored: str) -> str:
        return self.cipher.open(UUID(org_id), "call_log.ip", stored) if self.cipher else stored

    def prune_before(self, cutoff: datetime) -> int:
        """Deletes every entry older than `cutoff`; returns how many went (hook for the retention job)."""
        with self.db.transaction() as cur:
            return cur.execute("DELETE FROM call_log WHERE at < %s", (cutoff.timestamp(),)).rowcount

    def forget_organisation(self, org_id: str) -> int:
        """Erasure of an organisation (design/crypto.md §4.11 step 4)."""
        with self.db.transaction() as cur:
            return cur.execute("DELETE FROM call_log WHERE org_id = %s", (org_id,)).rowcount
