"""Ephemeral server state in SQL: login challenges, sessions (stored only as hashes) and throttle counters.
None of it is history, so none of it is an event; all of it expires.

What a power failure may take back (a challenge, a throttle hit, a new session or its last touch) is written
without waiting for the disk: a login costs one fsync instead of five. Deleting sessions (logout, revocation)
and the failure counters of the account lock stay durable: those must never come back."""

from __future__ import annotations

import json
from typing import Any, ClassVar
from uuid import UUID

from application.ports import SessionRecord
from application.retention import Pruned, Retention
from infrastructure.sql import Cursor, Database
from sprechzimmer_protocol.names import short_name_key

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS challenges (id TEXT PRIMARY KEY, purpose TEXT NOT NULL, data TEXT NOT NULL, "
    "expires DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, org_id TEXT NOT NULL, user_key TEXT NOT NULL, "
    "device_id TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sessions_org ON sessions (org_id, user_key)",
    "CREATE TABLE IF NOT EXISTS throttle_hits (key TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS throttle_hits_key ON throttle_hits (key, at)",
    "CREATE TABLE IF NOT EXISTS account_failures (account TEXT PRIMARY KEY, count INTEGER NOT NULL, "
    "last_at DOUBLE PRECISION NOT NULL)",
)


class SqlEphemeral:
    # Sessions end after 12 hours at the latest, challenges after two minutes, throttle windows after a day: the
    # retention job removes whatever a crash or an abandoned login left behind.
    retention: ClassVar[dict[str, Retention]] = {
        "challenges": Pruned("expires"), "sessions": Pruned("last_seen"), "throttle_hits": Pruned("at"),
        "account_failures": Pruned("last_at")}

    def __init__(self, db: Database):
        self.db = db
        with db.transaction() as cur:
            for statement in SCHEMA:
                cur.execute(statement)

    def put_challenge(self, challenge_id: str, purpose: str, data: dict[str, Any], expires: float) -> None:
        self.db.once("INSERT INTO challenges (id, purpose, data, expires) VALUES (%s, %s, %s, %s)",
                     (challenge_id, purpose, json.dumps(data), expires), durable=False)

    def pop_challenge(self, challenge_id: str, purpose: str, now: float) -> dict[str, Any] | None:
        """Single use: the row is deleted in the same statement that reads it."""
        row = self.db.once("DELETE FROM challenges WHERE id = %s AND purpose = %s RETURNING data, expires",
                           (challenge_id, purpose), durable=False).fetchone()
        if row is None or row[1] < now:
            return None
        data: dict[str, Any] = json.loads(row[0])
        return data

    def add_session(self, token_hash: str, record: SessionRecord) -> None:
        self.db.once(
            "INSERT INTO sessions (token_hash, org_id, user_key, device_id, created, last_seen) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (token_hash, str(record.org_id), record.user_key, record.device_id, record.created, record.last_seen),
            durable=False)

    def get_session(self, token_hash: str) -> SessionRecord | None:
        row = self.db.once("SELECT org_id, user_key, device_id, created, last_seen FROM sessions "
                           "WHERE token_hash = %s", (token_hash,), durable=False).fetchone()
        return SessionRecord(UUID(row[0]), row[1], row[2], row[3], row[4]) if row else None

    def touch_session(self, token_hash: str, now: float) -> None:
        self.db.once("UPDATE sessions SET last_seen = %s WHERE token_hash = %s", (now, token_hash), durable=False)

    def delete_session(self, token_hash: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM sessions WHERE token_hash = %s", (token_hash,))

    def delete_sessions(self, org_id: UUID, user_key: str | None = None, keep: str | None = None) -> int:
        sql, params = "DELETE FROM sessions WHERE org_id = %s", [str(org_id)]
        if user_key is not None:
            sql, params = sql + " AND user_key = %s", [*params, user_key]
        if keep is not None:
            sql, params = sql + " AND token_hash <> %s", [*params, keep]
        with self.db.transaction() as cur:
            return int(cur.execute(sql, params).rowcount)

    def delete_device_sessions(self, org_id: UUID, device_id: str) -> int:
        """A locked or revoked device loses its sessions at once."""
        with self.db.transaction() as cur:
            return int(cur.execute("DELETE FROM sessions WHERE org_id = %s AND device_id = %s",
                                   (str(org_id), device_id)).rowcount)

    def record_hit(self, key: str, now: float) -> None:
        self.db.once("INSERT INTO throttle_hits (key, at) VALUES (%s, %s)", (key, now), durable=False)

    def hits_since(self, key: str, since: float) -> tuple[int, float | None]:
        row = self.db.once("SELECT COUNT(*), MIN(at) FROM throttle_hits WHERE key = %s AND at > %s",
                           (key, since), durable=False).fetchone()
        return int(row[0]), row[1]

    def failures(self, account: str) -> tuple[int, float]:
        row = self.db.once("SELECT count, last_at FROM account_failures WHERE account = %s", (account,),
                           durable=False).fetchone()
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    def set_failures(self, account: str, count: int, now: float) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM account_failures WHERE account = %s", (account,))
            if count:
                cur.execute("INSERT INTO account_failures (account, count, last_at) VALUES (%s, %s, %s)",
                            (account, count, now))

    def prune(self, before: float) -> None:
        """Expired challenges and old throttle records go; IP-derived keys never outlive their window long."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM challenges WHERE expires < %s", (before,))
            cur.execute("DELETE FROM throttle_hits WHERE at < %s", (before - 86400,))

    def forget(self, org_id: UUID, short_name: str | None, now: float, cur: Cursor) -> int:
        """Erasure: sessions and failure counters of the organisation, login challenges naming it, and every
        expired challenge (a challenge of an unknown name carries nothing of the organisation)."""
        deleted = cur.execute("DELETE FROM sessions WHERE org_id = %s", (str(org_id),)).rowcount
        deleted += cur.execute("DELETE FROM account_failures WHERE account LIKE %s", (f"{org_id}:%",)).rowcount
        deleted += cur.execute("DELETE FROM challenges WHERE expires < %s", (now,)).rowcount
        if short_name:  # the table only holds challenges of the last two minutes: small enough to read
            key = short_name_key(short_name)
            for challenge_id, data in cur.execute("SELECT id, data FROM challenges").fetchall():
                if short_name_key(str(json.loads(data).get("org", ""))) == key:
                    deleted += cur.execute("DELETE FROM challenges WHERE id = %s", (challenge_id,)).rowcount
        return int(deleted)
