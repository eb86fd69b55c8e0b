"""The outbox: side effects that leave the system are recorded before they are sent, under an idempotency key,
and a key that was sent is never sent again — so a use case that crashes after sending and is run again (the
erasure after its deletion mail, a job after a restart) does not send twice. A send that fails stays pending
and is retried by the `outbox` job.

What remains possible is a crash in the instant between the server's acceptance and recording it as sent: then
the retry sends once more (SMTP has no idempotency). The payload (an address, a text) is cleared as soon as it is
sent, so no personal data stays behind."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from application.retention import Pruned, Retention
from infrastructure.sql import Database

log = logging.getLogger("sprechzimmer.outbox")
RETRY_AFTER = 60.0  # seconds a pending entry rests before the job retries it (the sender may still be at it)
KEEP_SENT = 30 * 86400.0  # a sent key is remembered this long: far longer than any rerun of its use case


class SqlOutbox:
    retention: ClassVar[dict[str, Retention]] = {"outbox": Pruned("created")}

    def __init__(self, db: Database, now: Callable[[], float] = time.time):
        self.db = db
        self.now = now
        self._senders: dict[str, Callable[[dict[str, Any]], None]] = {}
        with db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                        "payload TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, sent DOUBLE PRECISION, "
                        "attempts INTEGER NOT NULL, error TEXT)")

    def register(self, kind: str, send: Callable[[dict[str, Any]], None]) -> None:
        """How entries of `kind` are sent (the job needs it to retry them)."""
        self._senders[kind] = send

    def deliver(self, key: str, kind: str, payload: dict[str, Any]) -> bool:
        """Records, then sends unless `key` was sent before. True if sent now; a failed send raises and stays
        pending."""
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO outbox (key, kind, payload, created, attempts) VALUES (%s, %s, %s, %s, 0) "
                        "ON CONFLICT (key) DO NOTHING", (key, kind, json.dumps(payload), self.now()))
            row = cur.execute("SELECT sent, payload FROM outbox WHERE key = %s", (key,)).fetchone()
        if row[0] is not None:
            log.info("outbox: %s already sent, skipped", kind)
            return False
        self._send(key, kind, json.loads(row[1]))
        return True

    def deliver_unstored(self, key: str, kind: str, send: Callable[[], None]) -> bool:
        """Like deliver, for side effects whose content must never be stored (an SMS carries a patient's number
        and code): only the key is recorded; the caller retries a failed send itself. True if sent now."""
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO outbox (key, kind, payload, created, attempts) VALUES (%s, %s, '', %s, 0) "
                        "ON CONFLICT (key) DO NOTHING", (key, kind, self.now()))
            row = cur.execute("SELECT sent FROM outbox WHERE key = %s", (key,)).fetchone()
        if row[0] is not None:
            log.info("outbox: %s already sent, skipped", kind)
            return False
        self._send(key, kind, {}, send)
        return True

    def _send(self, key: str, kind: str, payload: dict[str, Any], send: Callable[[], None] | None = None) -> None:
        try:
            if send is not None:
                send()
            else:
                self._senders[kind](payload)
        except Exception as error:
            with self.db.transaction() as cur:  # only the kind of failure: its text may name the recipient
                cur.execute("UPDATE outbox SET attempts = attempts + 1, error = %s WHERE key = %s",
                            (type(error).__name__, key))
            raise
        with self.db.transaction() as cur:
            cur.execute("UPDATE outbox SET sent = %s, payload = '', attempts = attempts + 1, error = NULL "
                        "WHERE key = %s", (self.now(), key))

    def retry_pending(self) -> int:
        """The job: sends what is still pending (after a failure or a crash); returns how many went out."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM outbox WHERE sent < %s", (self.now() - KEEP_SENT,))
            rows = cur.execute("SELECT key, kind, payload FROM outbox WHERE sent IS NULL AND payload <> '' "
                               "AND created < %s ORDER BY created", (self.now() - RETRY_AFTER,)).fetchall()
        sent = 0
        for key, kind, payload in rows:
            try:
                self._send(key, kind, json.loads(payload))
                sent += 1
            except Exception as error:
                log.warning("outbox: %s still not sent (%s)", kind, type(error).__name__)
        return sent

    def pending(self) -> int:
        with self.db.transaction() as cur:
            return int(cur.execute("SELECT COUNT(*) FROM outbox WHERE sent IS NULL").fetchone()[0])
