"""The practice's access log (issue 14), in the state database: each entry sealed to the organisation's X25519
key (org_box_pk), so the server can append but only the practice's devices can read it. Deleted after three
months by the retention job, and with the organisation on erasure (infrastructure/erasure_store.py)."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from application.retention import Pruned, Retention
from infrastructure.sql import Database


class SqlAccessLog:
    retention: ClassVar[dict[str, Retention]] = {"access_log": Pruned("at")}

    def __init__(self, db: Database):
        self._db = db
        with db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS access_log (org_id TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, "
                        "sealed TEXT NOT NULL)")
            cur.execute("CREATE INDEX IF NOT EXISTS access_log_org_at ON access_log (org_id, at)")

    def add(self, org_id: UUID, at: float, sealed: bytes) -> None:
        """Without a sync of its own, like the session a login entry documents (ephemeral store): a crashed
        process loses nothing, a power cut at most the last moment's entries and sessions together. The sync
        was a third of a login's server time."""
        self._db.once("INSERT INTO access_log (org_id, at, sealed) VALUES (%s, %s, %s)",
                      (str(org_id), at, sealed.hex()), durable=False)

    def entries(self, org_id: UUID, limit: int) -> list[dict[str, Any]]:
        """The newest first."""
        rows = self._db.once("SELECT at, sealed FROM access_log WHERE org_id = %s ORDER BY at DESC LIMIT %s",
                             (str(org_id), limit), durable=False).fetchall()
        return [{"at": float(r[0]), "sealed": str(r[1])} for r in rows]
