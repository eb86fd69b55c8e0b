"""The keystore of per-organisation shredding keys (design/crypto.md §4.11).

K_shred is stored only wrapped by the KEK (SecretBox) and in a store apart from the events, so that
destroying one row makes every event of the organisation, in the database and in any old backup,
unreadable. Derived subkeys: K_evt for event payloads, K_rm for server-visible read-model columns."""

from __future__ import annotations

import threading
import time
from uuid import UUID

from infrastructure import crypto
from infrastructure.sql import Database

_CACHE_SECONDS = 30.0  # other processes notice a destroyed key within this time; the rows are gone anyway


class Keystore:
    def __init__(self, db: Database, kek: bytes):
        self._db = db
        self._kek = kek
        self._cache: dict[UUID, tuple[float, bytes | None]] = {}
        self._lock = threading.Lock()
        with db.transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS org_keys (org_id TEXT PRIMARY KEY, wrapped TEXT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL)"
            )

    def create(self, org_id: UUID) -> None:
        wrapped = crypto.secretbox_encrypt(self._kek, crypto.random_bytes(32)).hex()
        with self._db.transaction() as cur:
            cur.execute("SELECT 1 FROM org_keys WHERE org_id = %s", (str(org_id),))
            if cur.fetchone() is None:
                cur.execute("INSERT INTO org_keys (org_id, wrapped, created_at) VALUES (%s, %s, %s)",
                            (str(org_id), wrapped, time.time()))
        with self._lock:
            self._cache.pop(org_id, None)

    def _shred_key(self, org_id: UUID) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(org_id)
            if hit and now - hit[0] < _CACHE_SECONDS:
                return hit[1]
        with self._db.transaction() as cur:
            row = cur.execute("SELECT wrapped FROM org_keys WHERE org_id = %s", (str(org_id),)).fetchone()
        key = crypto.secretbox_decrypt(self._kek, bytes.fromhex(row[0])) if row else None
        with self._lock:
            self._cache[org_id] = (now, key)
        return key

    def event_key(self, org_id: UUID) -> bytes | None:
        key = self._shred_key(org_id)
        return crypto.kdf(key, "vdcsv_v1", 1) if key else None

    def read_model_key(self, org_id: UUID) -> bytes | None:
        key = self._shred_key(org_id)
        return crypto.kdf(key, "vdcsv_v1", 2) if key else None

    def destroy(self, org_id: UUID) -> bool:
        with self._db.transaction() as cur:
            deleted = cur.execute("DELETE FROM org_keys WHERE org_id = %s", (str(org_id),)).rowcount
        with self._lock:
            self._cache[org_id] = (time.monotonic(), None)
        return deleted > 0

    def exists(self, org_id: UUID) -> bool:
        with self._db.transaction() as cur:
            return cur.execute("SELECT 1 FROM org_keys WHERE org_id = %s", (str(org_id),)).fetchone() is not None
