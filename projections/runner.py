"""Read models kept by following the event store's notification log.

One mechanism serves SQLite and PostgreSQL: a projection applies a batch of events and advances its
tracking position in the same SQL transaction, holding a row lock on the position, so that several
workers can run the same projection and each event is applied exactly once. Rebuilding = truncate the
view, reset the position to zero, catch up.

A projection that fails (a bug, an event it cannot handle) is isolated: the others go on, and it is retried
with a growing back-off. Its fault (a German text without event data) is kept in `projection_faults`, shared by
every process, so the status page shows it whichever process met it. A database that is gone is no fault of a
projection: `catch_up` raises, and the worker loop waits and reconnects."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from eventsourcing.persistence import InterfaceError as EventStoreInterfaceError
from eventsourcing.persistence import OperationalError as EventStoreDown

from application.eventstore import EventStore
from infrastructure.event_cipher import EventKeyDestroyed
from infrastructure.sql import Cursor, Database

log = logging.getLogger(__name__)
BATCH = 500
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 300.0  # seconds; doubled after every failure in a row
# Connection trouble, not a projection's fault. (SQLite's OperationalError is left out: it is also what a
# projection's own broken SQL raises there, and the embedded file cannot go away like a server.)
DATABASE_DOWN = (EventStoreDown, EventStoreInterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def backoff(failures: int) -> float:
    return min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX)


@dataclass(frozen=True)
class ProjectionFault:
    error: str  # German, names the event's position and the kind of error, never event data
    failures: int  # in a row
    since: float  # first failure (epoch seconds)
    retry_at: float


class _ProjectionFailed(Exception):
    def __init__(self, position: int, cause: Exception):
        super().__init__(position)
        self.position, self.cause = position, cause


class Projection(Protocol):
    name: str

    def schema(self) -> list[str]: ...
    def apply(self, event: Any, cur: Cursor) -> None: ...
    def clear(self, cur: Cursor) -> None: ...


class ProjectionRunner:
    def __init__(self, events: EventStore, db: Database, projections: list[Projection],
                 now: Callable[[], float] = time.time):
        self.events = events
        self.db = db
        self.projections = projections
        self.now = now
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        with db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS projection_tracking (name TEXT PRIMARY KEY, "
                        "position BIGINT NOT NULL)")
            cur.execute("CREATE TABLE IF NOT EXISTS projection_faults (name TEXT PRIMARY KEY, error TEXT NOT NULL, "
                        "failures INTEGER NOT NULL, since DOUBLE PRECISION NOT NULL, "
                        "retry_at DOUBLE PRECISION NOT NULL)")
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

    def faults(self) -> dict[str, ProjectionFault]:
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT name, error, failures, since, retry_at FROM projection_faults").fetchall()
        return {r[0]: ProjectionFault(str(r[1]), int(r[2]), float(r[3]), float(r[4])) for r in rows}

    def catch_up(self) -> None:
        """Brings every projection up to date, except those waiting for their next attempt after a fault.
        Raises only when the database itself fails (DATABASE_DOWN)."""
        with self._lock:
            faults = self.faults()
            for projection in self.projections:
                fault = faults.get(projection.name)
                if fault is not None and self.now() < fault.retry_at:
                    continue
                try:
                    while self._advance(projection):
                        pass
                except _ProjectionFailed as failed:
                    self._record_fault(projection.name, fault, failed)
                    continue
                if fault is not None:
                    self._clear_fault(projection.name)

    def _record_fault(self, name: str, previous: ProjectionFault | None, failed: _ProjectionFailed) -> None:
        failures = (previous.failures if previous else 0) + 1
        now = self.now()
        retry_at = now + backoff(failures)
        error = (f"Ereignis {failed.position} konnte nicht verarbeitet werden ({type(failed.cause).__name__}); "
                 f"{failures}. Fehlversuch in Folge")
        # The cause's text may quote event data: only its type is kept and logged.
        log.error("projection %s failed at position %s (%s); next attempt in %.0f s", name, failed.position,
                  type(failed.cause).__name__, retry_at - now)
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO projection_faults (name, error, failures, since, retry_at) "
                        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET error = excluded.error, "
                        "failures = excluded.failures, retry_at = excluded.retry_at",
                        (name, error, failures, previous.since if previous else now, retry_at))

    def _clear_fault(self, name: str) -> None:
        log.info("projection %s caught up again", name)
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM projection_faults WHERE name = %s", (name,))

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
                    projection.apply(event, cur)
                except EventKeyDestroyed:
                    continue  # an erased organisation: nothing of it belongs in any read model
                except DATABASE_DOWN:
                    raise
                except Exception as error:  # rolls back the batch; the position stays before this event
                    raise _ProjectionFailed(notification.id, error) from error
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
        least every `interval` seconds; SQLite has no notifications, so there it polls. When the database goes
        away (or anything else breaks the loop) it waits with a growing back-off, reconnects and goes on —
        forever: a worker whose read models silently stop is worse than one that keeps trying."""
        listener: Any = None
        failures = 0
        while not self._stop.is_set():
            try:
                if listener is None:
                    listener = self._listen()
                self.catch_up()
                self._wait_for_news(listener, interval)
                failures = 0
            except Exception as error:
                failures += 1
                delay = backoff(failures)
                log.warning("projections: database not reachable (%s); next attempt in %.0f s",
                            type(error).__name__, delay)
                self._close_quietly(listener)
                listener = None
                self._stop.wait(delay)
        self._close_quietly(listener)

    @staticmethod
    def _close_quietly(listener: Any) -> None:
        if listener is not None:
            try:
                listener.close()
            except Exception:  # already broken: nothing to close
                log.debug("listener close failed", exc_info=True)

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
