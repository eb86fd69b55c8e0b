"""Read-only auditor tokens (issue 14), kept in the state database only as keyed hashes.

A token opens the auditor endpoints (envelopes, digests, chain, checkpoints) and nothing else: it is no session,
so every practice endpoint answers it with 401."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from typing import ClassVar

from application.retention import Kept, Retention
from infrastructure import crypto
from infrastructure.sql import Database

PREFIX = "szaudit_"


@dataclass(frozen=True)
class AuditorToken:
    token_id: str
    name: str
    created_at: float
    revoked_at: float | None


class AuditorTokens:
    retention: ClassVar[dict[str, Retention]] = {"auditor_tokens": Kept(
        "Zugänge der Prüfer des Betreibers, keine Daten der Praxen; widerrufen, nicht gelöscht, damit die Prüfung "
        "nachvollziehbar bleibt")}

    def __init__(self, db: Database, pepper: bytes):
        self._db = db
        self._pepper = pepper
        with db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS auditor_tokens (token_id TEXT PRIMARY KEY, name TEXT NOT NULL, "
                        "tag TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL, "
                        "revoked_at DOUBLE PRECISION)")

    def _tag(self, token: str) -> str:
        return crypto.h("vdc/v1/auditor-token", token, key=self._pepper).hex()

    def issue(self, name: str) -> tuple[AuditorToken, str]:
        token = PREFIX + base64.urlsafe_b64encode(crypto.random_bytes(32)).decode().rstrip("=")
        record = AuditorToken(uuid.uuid4().hex[:12], name, time.time(), None)
        with self._db.transaction() as cur:
            cur.execute("INSERT INTO auditor_tokens (token_id, name, tag, created_at) VALUES (%s, %s, %s, %s)",
                        (record.token_id, name, self._tag(token), record.created_at))
        return record, token

    def list(self) -> list[AuditorToken]:
        with self._db.transaction() as cur:
            rows = cur.execute("SELECT token_id, name, created_at, revoked_at FROM auditor_tokens "
                               "ORDER BY created_at").fetchall()
        return [AuditorToken(str(r[0]), str(r[1]), float(r[2]), None if r[3] is None else float(r[3]))
                for r in rows]

    def revoke(self, token_id: str) -> bool:
        with self._db.transaction() as cur:
            return cur.execute("UPDATE auditor_tokens SET revoked_at = %s WHERE token_id = %s AND revoked_at IS "
                               "NULL", (time.time(), token_id)).rowcount > 0

    def valid(self, token: str) -> bool:
        if not token.startswith(PREFIX):
            return False
        with self._db.transaction() as cur:
            row = cur.execute("SELECT revoked_at FROM auditor_tokens WHERE tag = %s", (self._tag(token),)).fetchone()
        return row is not None and row[0] is None
