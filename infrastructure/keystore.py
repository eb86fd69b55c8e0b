"""The keystore of per-organisation shredding keys (design/crypto.md §4.11).

K_shred is stored only wrapped by the KEK (SecretBox) and in a store apart from the events, so that
destroying one row makes every event of the organisation, in the database and in any old backup,
unreadable. Derived subkeys: K_evt for event payloads, K_rm for server-visible read-model columns.

Beside them, one key per calendar month seals the metadata that events carry (application/retention.py): the
retention job deletes the keys of months older than three months, which makes that metadata unreadable."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import ClassVar, NamedTuple
from uuid import UUID

from application.retention import Kept, Pruned, Retention
from infrastructure import crypto
from infrastructure.sql import Database

_CACHE_SECONDS = 30.0  # other processes notice a destroyed key within this time; the rows are gone anyway
# Organisations whose keys stay in memory at once: a replay of the whole log touches every organisation, and
# deriving K_evt (BLAKE2b) and unwrapping K_shred per event cost more than decrypting the event itself.
_CACHE_ORGANISATIONS = 4096


class _Keys(NamedTuple):
    """What one organisation's keys cost to compute, derived once per cache entry and only ever kept in this
    process's memory (never logged, pickled or written). All None once the organisation is erased."""
    fetched: float  # time.monotonic()
    event: bytes | None  # K_evt
    read_model: bytes | None  # K_rm


class Keystore:
    retention: ClassVar[dict[str, Retention]] = {
        "org_keys": Kept("der Schlüssel einer Organisation, solange sie besteht; bei ihrer Löschung vernichtet"),
        "metadata_keys": Pruned("period", unit="month"),
    }

    def __init__(self, db: Database, kek: bytes):
        self._db = db
        self._kek = kek
        self._cache: OrderedDict[UUID, _Keys] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()
        with db.transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS org_keys (org_id TEXT PRIMARY KEY, wrapped TEXT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL)"
            )
            cur.execute("CREATE TABLE IF NOT EXISTS metadata_keys (period TEXT PRIMARY KEY, wrapped TEXT NOT NULL)")

    def create(self, org_id: UUID) -> None:
        wrapped = crypto.secretbox_encrypt(self._kek, crypto.random_bytes(32)).hex()
        with self._db.transaction() as cur:
            cur.execute("SELECT 1 FROM org_keys WHERE org_id = %s", (str(org_id),))
            if cur.fetchone() is None:
                cur.execute("INSERT INTO org_keys (org_id, wrapped, created_at) VALUES (%s, %s, %s)",
                            (str(org_id), wrapped, time.time()))
        with self._lock:
            self._cache.pop(org_id, None)

    def _keys(self, org_id: UUID) -> _Keys:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(org_id)
            if hit is not None and now - hit.fetched < _CACHE_SECONDS:
                self._cache.move_to_end(org_id)
                return hit
        with self._db.transaction() as cur:
            row = cur.execute("SELECT wrapped FROM org_keys WHERE org_id = %s", (str(org_id),)).fetchone()
        if row is None:
            keys = _Keys(now, None, None)
        else:
            shred = crypto.secretbox_decrypt(self._kek, bytes.fromhex(row[0]))  # K_shred itself is not kept
            keys = _Keys(now, crypto.kdf(shred, "vdcsv_v1", 1), crypto.kdf(shred, "vdcsv_v1", 2))
        self._remember(org_id, keys)
        return keys

    def _remember(self, org_id: UUID, keys: _Keys) -> None:
        with self._lock:
            self._cache[org_id] = keys
            self._cache.move_to_end(org_id)
            while len(self._cache) > _CACHE_ORGANISATIONS:
                self._cache.popitem(last=False)

    def event_key(self, org_id: UUID) -> bytes | None:
        return self._keys(org_id).event

    def read_model_key(self, org_id: UUID) -> bytes | None:
        return self._keys(org_id).read_model

    def destroy(self, org_id: UUID) -> bool:
        with self._db.transaction() as cur:
            deleted = cur.execute("DELETE FROM org_keys WHERE org_id = %s", (str(org_id),)).rowcount
        self._remember(org_id, _Keys(time.monotonic(), None, None))  # the derived keys go with K_shred
        return deleted > 0

    def metadata_key(self, period: str, create: bool = True) -> bytes | None:
        """Not cached: a destroyed month must be unreadable at once, and metadata is sealed and opened rarely."""
        with self._db.transaction() as cur:
            if create:
                wrapped = crypto.secretbox_encrypt(self._kek, crypto.random_bytes(32)).hex()
                cur.execute("INSERT INTO metadata_keys (period, wrapped) VALUES (%s, %s) "
                            "ON CONFLICT (period) DO NOTHING", (period, wrapped))
            row = cur.execute("SELECT wrapped FROM metadata_keys WHERE period = %s", (period,)).fetchone()
        return crypto.secretbox_decrypt(self._kek, bytes.fromhex(row[0])) if row else None

    def exists(self, org_id: UUID) -> bool:
        with self._db.transaction() as cur:
            return cur.execute("SELECT 1 FROM org_keys WHERE org_id = %s", (str(org_id),)).fetchone() is not None
