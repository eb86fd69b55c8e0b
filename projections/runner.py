"""Read models kept by following the event store's notification log.

One mechanism serves SQLite and PostgreSQL: a projection applies a batch of events and advances its
tracking position in the same SQL transaction, holding a row lock on the position, so that several
workers can run the same projection and each event is applied exactly once. Rebuilding = truncate the
view, reset the position to zero, catch up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from application.eventstore import EventStore
from infrastructure.event_cipher import EventKeyDestroyed
from infrastructure.sql import Cursor, Database

log = logging.getLogger(__name__)
BATCH = 500


class Projection(Protocol):
    name: str

    def schema(self) -> list[str]: ...
    def apply(self, event: Any, cur: Cursor) -> None: ...
    def clear(self, cur: Cursor) -> None: ...


class ProjectionRunner:
    def __init__(self, events: EventStore, db: Database, projections: list[Projection]):
        self.events = events
        self.db = db
        self.projections = projections
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        with db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS projection_tracking (name TEXT PRIMARY KEY, "
                        "position BIGINT NOT NULL)")
            for projection in projections:
                for statement in projection.schema():
                    cur.execute(statement)
                if cur.execute("SELECT 1 FROM projection_tracking WHERE name = %s",
                               (projection.name,)).fetchone() is None:
                    cur.execute("INSERT INTO projection_tracking (name, position) VALUES (%s, 0)",
                                (projection.name,))

    def positions(self) -> dict[str, int]:
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT name, position FROM projection_tracking").fetchall()
        return {name: int(position) for name, position in rows}

    def catch_up(self) -> None:
        with self._lock:
            for projection in self.projections:
                while self._advance(projection):
                    pass

    def _advance(self, projection: Projection) -> bool:
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
        with self.db.transaction() as cur:
            row = cur.execute("SELECT position FROM projection_tracking WHERE name = %s" + lock,
                              (projection.name,)).fetchone()
            position = int(row[0])
            notifications = self.events.recorder.select_notifications(
                start=position, limit=BATCH, inclusive_of_start=False)
            if not notifications:
                return False
            for notification in notifications:
                try:
                    event = self.events.mapper.to_domain_event(notification)
                except EventKeyDestroyed:
                    continue  # an erased organisation: nothing of it belongs in any read model
                projection.apply(event, cur)
            cur.execute("UPDATE projection_tracking SET position = %s WHERE name = %s",
                        (notifications[-1].id, projection.name))
        return True

    def forget(self, org_id: Any, only: tuple[str, ...] | None = None, skip: tuple[str, ...] = (),
               also: Callable[[Cursor], dict[str, int]] | None = None) -> dict[str, int]:
        """Erasure: every projection with a `forget(org_id, cur)` hook drops the organisation's rows, in one
        transaction with `also` (other tables of the same database). The lock is taken before the transaction,
        in the same order as catch_up, so the two can never wait for each other."""
        counts: dict[str, int] = {}
        with self._lock, self.db.transaction() as cur:
            for projection in self.projections:
                hook = getattr(projection, "forget", None)
                if hook is None or projection.name in skip or (only is not None and projection.name not in only):
                    continue
                counts[projection.name] = int(hook(org_id, cur) or 0)
            if also is not None:
                counts.update(also(cur))
        return counts

    def prune_before(self, cutoff: Any, also: Callable[[Cursor], dict[str, int]] | None = None) -> dict[str, int]:
        """Retention: every projection holding metadata offers `prune_before(cutoff, cur)`."""
        counts: dict[str, int] = {}
        with self._lock, self.db.transaction() as cur:
            for projection in self.projections:
                hook = getattr(projection, "prune_before", None)
                if hook is not None:
                    counts[projection.name] = int(hook(cutoff, cur) or 0)
            if also is not None:
                counts.update(also(cur))
        return counts

    def rebuild(self) -> None:
        with self._lock, self.db.transaction() as cur:
            for projection in self.projections:
                projection.clear(cur)
                cur.execute("UPDATE projection_tracking SET position = 0 WHERE name = %s", (projection.name,))
        self.catch_up()

    def wait(self, position: int, timeout: float = 5.0) -> bool:
        """Read-your-writes: returns once every projection has seen `position`."""
        deadline = time.monotonic() + timeout
        while True:
            if min(self.positions().values(), default=position) >= position:
                return True
            self.catch_up()
            if time.monotonic() > deadline:
                return False

    def run_forever(self, interval: float = 0.5) -> None:
        """Catches up whenever PostgreSQL notifies a new event (the library NOTIFYs on every insert), and at
        least every `interval` seconds; SQLite has no notifications, so there it polls."""
        listener = self._listen()
        try:
            while not self._stop.is_set():
                try:
                    self.catch_up()
                except Exception:  # a failing projection must not stop the others; it is retried next round
                    log.exception("projection catch-up failed")
                self._wait_for_news(listener, interval)
        finally:
            if listener is not None:
                listener.close()

    def _wait_for_news(self, listener: Any, interval: float) -> None:
        """Returns on a notification, after `interval`, or soon after stop() (checked every second)."""
        deadline = time.monotonic() + interval
        while not self._stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
            if listener is None:
                self._stop.wait(min(remaining, 1.0))
            elif any(True for _ in listener.notifies(timeout=min(remaining, 1.0), stop_after=1)):
                return

    def _listen(self) -> Any:
        channel = getattr(self.events.recorder, "channel_name", None)
        url = getattr(self.db, "url", None)
        if self.db.dialect != "postgres" or channel is None or url is None:
            return None
        import psycopg
        from psycopg import sql

        connection = psycopg.connect(url, autocommit=True)
        connection.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(channel)))
        return connection

    def start_thread(self, interval: float = 0.5) -> threading.Thread:
        self._thread = threading.Thread(target=self.run_forever, args=(interval,), name="projections", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stops the loop and waits for it, so that nothing runs on connections about to be closed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
