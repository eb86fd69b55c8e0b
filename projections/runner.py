"""Read models kept by following the event store's notification log, as one subsystem.

One mechanism serves SQLite and PostgreSQL. The runner reads each batch of the log once, decodes (decrypts)
each event at most once, applies it to every read model that declares interest in its topic, and commits all
of them together with their tracking positions in one SQL transaction, holding row locks on the positions, so
that several workers can run the same read models and each event is applied exactly once. Rebuilding = empty
the declared tables, reset the positions to zero, catch up.

Every read model declares
- `topics`: the event topics it applies (events of other topics are neither decoded nor offered to it);
- `tables`: each of its tables with the column naming the organisation, so that erasure and rebuilds need no
  code of their own in the model (a model without `tables` offers `clear(cur)` / `forget(org_id, cur)`);
- `retention`: each of its tables with how long its rows stay (application/retention.py: `Pruned` by a time
  column after three months, or `Kept` with the reason).

A read model that fails (a bug, an event it cannot handle) is isolated: its part of the batch is rolled back to
a savepoint, the others go on, and it is retried with a growing back-off. Its fault (a German text without
event data) is kept in `projection_faults`, shared by every process, so the status page shows it whichever
process met it. A database that is gone is no fault of a read model: `catch_up` raises, and the worker loop
waits and reconnects."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

import psycopg
from eventsourcing.persistence import InterfaceError as EventStoreInterfaceError
from eventsourcing.persistence import OperationalError as EventStoreDown
from eventsourcing.utils import get_topic

from application.eventstore import EventStore
from application.retention import Kept, Pruned, Retention
from infrastructure.event_cipher import EventKeyDestroyed
from infrastructure.sql import Cursor, Database, prune_table

log = logging.getLogger(__name__)
BATCH = 500
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 300.0  # seconds; doubled after every failure in a row
# Connection trouble, not a projection's fault. (SQLite's OperationalError is left out: it is also what a
# projection's own broken SQL raises there, and the embedded file cannot go away like a server.)
DATABASE_DOWN = (EventStoreDown, EventStoreInterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
WAIT_FIRST, WAIT_MAX = 0.005, 0.1  # read-your-writes: back-off between looks at the tracking positions
WORKER_GRACE = 2.0  # seconds a web worker waits for the worker process before it catches up itself


def backoff(failures: int) -> float:
    return min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX)


def topics_of(classes: Iterable[type]) -> frozenset[str]:
    """The stored topics of event classes and of all their subclasses (singledispatch applies a handler to
    subclasses too)."""
    topics: set[str] = set()
    pending = [cls for cls in classes if cls is not object]
    while pending:
        cls = pending.pop()
        topics.add(get_topic(cls))
        pending.extend(cls.__subclasses__())
    return frozenset(topics)


def handled_topics(apply: Any) -> frozenset[str]:
    """`topics` of a read model whose `apply` is a singledispatchmethod: the event classes registered on it."""
    return topics_of(apply.dispatcher.registry.keys())


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
    # Optional: `topics: frozenset[str]` (absent: every event), `tables: dict[str, str]` (table -> organisation
    # column; absent: the model's own `clear(cur)` and `forget(org_id, cur)`).

    def schema(self) -> list[str]: ...
    def apply(self, event: Any, cur: Cursor) -> None: ...


_UNREADABLE = object()  # an erased organisation's event: nothing of it belongs in any read model


class _Batch:
    """One batch of the log, each event decoded at most once, and only if some read model wants its topic."""

    def __init__(self, events: EventStore, notifications: Sequence[Any]):
        self.events = events
        self.notifications = notifications
        self._decoded: dict[int, Any] = {}

    def event(self, notification: Any) -> Any:
        try:
            decoded = self._decoded[notification.id]
        except KeyError:
            try:
                decoded = self.events.mapper.to_domain_event(notification)
            except EventKeyDestroyed:
                decoded = _UNREADABLE
            except DATABASE_DOWN:
                raise
            except Exception as error:  # a fault of every read model that wants this event
                decoded = error
            self._decoded[notification.id] = decoded
        if isinstance(decoded, Exception):
            raise decoded
        return decoded


class ProjectionRunner:
    retention: ClassVar[dict[str, Retention]] = {
        "projection_tracking": Kept("Lesepositionen der Lesemodelle, keine Daten der Praxen"),
        "projection_faults": Kept("Fehler der Lesemodelle (Position und Fehlerart), keine Daten; gehen, sobald "
                                  "behoben")}

    def __init__(self, events: EventStore, db: Database, projections: list[Projection],
                 now: Callable[[], float] = time.time):
        self.events = events
        self.db = db
        self.projections = projections
        self.now = now
        self._lock = threading.RLock()
        self._reached = 0  # a position every read model had applied (or set aside after a fault) in this process
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._batch_names: set[str] = set()  # the read models taking part in the current catch-up
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
        """Brings every read model up to date, except those waiting for their next attempt after a fault.
        Raises only when the database itself fails (DATABASE_DOWN). When the log has nothing new this is one
        read-only transaction; otherwise one transaction per batch (the faults are read in the first)."""
        with self._lock:
            faults: dict[str, ProjectionFault] = {}
            failed: dict[str, _ProjectionFailed] = {}
            more = self._advance(failed, faults)
            while more:
                more = self._advance(failed)
            for name, failure in failed.items():
                self._record_fault(name, faults.get(name), failure)
            for name, fault in faults.items():
                if name not in failed and self.now() >= fault.retry_at and \
                        any(p.name == name for p in self.projections):
                    self._clear_fault(name)

    def catch_up_to(self, position: int) -> None:
        """Embedded mode's read-your-writes after a save at `position`. Saves of concurrent requests that a
        catch-up already covered (it ran while they waited for the lock) cost nothing more."""
        if self._reached >= position:
            return
        with self._lock:
            if self._reached >= position:
                return
            self.catch_up()  # re-entrant lock: the same thread
            self._reached = max(self._reached, position)

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

    def _advance(self, failed: dict[str, _ProjectionFailed], faults: dict[str, ProjectionFault] | None = None) -> bool:
        """Applies the next batch of the log to every read model behind it (neither failed in this catch-up
        nor waiting after a fault), in one transaction; with `faults`, first reads the recorded faults into it.
        Returns whether the batch was full (more may follow). A read model that fails is rolled back to its
        savepoint (its position stays before the batch) and put into `failed`."""
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
        # Not durable (no fsync of its own): a read model is a function of the durable log, and its tracking
        # position is lost together with it, so a power cut only means applying those events again.
        with self.db.transaction(durable=False) as cur:
            if faults is not None:
                faults.update({r[0]: ProjectionFault(str(r[1]), int(r[2]), float(r[3]), float(r[4]))
                               for r in cur.execute("SELECT name, error, failures, since, retry_at "
                                                    "FROM projection_faults").fetchall()})
            now = self.now()
            active = [p for p in self.projections if p.name not in failed
                      and (faults is None or (fault := faults.get(p.name)) is None or now >= fault.retry_at)]
            if faults is None:  # a later batch: those set aside in the first stay aside
                active = [p for p in active if p.name in self._batch_names]
            self._batch_names = {p.name for p in active}
            if not active:
                return False
            names = sorted(self._batch_names)  # locks always taken in the same order: no deadlock
            placeholders = ", ".join(["%s"] * len(names))
            rows = cur.execute(f"SELECT name, position FROM projection_tracking WHERE name IN ({placeholders}) "
                               f"ORDER BY name{lock}", names).fetchall()
            positions = {str(name): int(position) for name, position in rows}
            start = min(positions.values(), default=0)
            notifications = self.events.recorder.select_notifications(
                start=start, limit=BATCH, inclusive_of_start=False)
            if not notifications:
                return False
            batch = _Batch(self.events, notifications)
            end = notifications[-1].id
            advanced: list[str] = []
            for index, projection in enumerate(active):
                position = positions.get(projection.name, 0)
                if position >= end:
                    continue
                topics: frozenset[str] | None = getattr(projection, "topics", None)
                wanted = [n for n in notifications if n.id > position and (topics is None or n.topic in topics)]
                if wanted:  # a savepoint only where there is something to apply (each one is a round trip)
                    cur.execute(f"SAVEPOINT rm_{index}")
                    try:
                        self._apply(projection, batch, wanted, cur)
                    except _ProjectionFailed as failure:
                        cur.execute(f"ROLLBACK TO SAVEPOINT rm_{index}")
                        failed[projection.name] = failure
                        continue
                    cur.execute(f"RELEASE SAVEPOINT rm_{index}")
                advanced.append(projection.name)
            if advanced:
                cur.execute(f"UPDATE projection_tracking SET position = %s WHERE name IN "
                            f"({', '.join(['%s'] * len(advanced))})", (end, *advanced))
        return len(notifications) == BATCH

    @staticmethod
    def _apply(projection: Projection, batch: _Batch, wanted: list[Any], cur: Cursor) -> None:
        for notification in wanted:
            try:
                event = batch.event(notification)
                if event is not _UNREADABLE:
                    projection.apply(event, cur)
            except DATABASE_DOWN:
                raise
            except Exception as error:
                raise _ProjectionFailed(notification.id, error) from error

    def forget(self, org_id: Any, only: tuple[str, ...] | None = None, skip: tuple[str, ...] = (),
               also: Callable[[Cursor], dict[str, int]] | None = None) -> dict[str, int]:
        """Erasure: the organisation's rows go from every declared table (or through the model's own
        `forget(org_id, cur)`), in one transaction with `also` (other tables of the same database). The lock is
        taken before the transaction, in the same order as catch_up, so the two can never wait for each other.
        Deleting by the organisation column uses each table's index on it."""
        counts: dict[str, int] = {}
        with self._lock, self.db.transaction() as cur:
            for projection in self.projections:
                if projection.name in skip or (only is not None and projection.name not in only):
                    continue
                tables: dict[str, str] | None = getattr(projection, "tables", None)
                if tables is not None:
                    counts[projection.name] = sum(
                        int(cur.execute(f"DELETE FROM {table} WHERE {column} = %s", (str(org_id),)).rowcount)
                        for table, column in tables.items())
                elif (hook := getattr(projection, "forget", None)) is not None:
                    counts[projection.name] = int(hook(org_id, cur) or 0)
            if also is not None:
                counts.update(also(cur))
        return counts

    def prune_before(self, cutoff: datetime, also: Callable[[Cursor], dict[str, int]] | None = None
                     ) -> dict[str, int]:
        """Retention: the rows before `cutoff` go from every table a read model declares `Pruned`, in one
        transaction with `also` (other tables of the same database). A rebuild brings them back from the
        events; the next daily run deletes them again."""
        counts: dict[str, int] = {}
        with self._lock, self.db.transaction() as cur:
            for projection in self.projections:
                declared: dict[str, Retention] = getattr(projection, "retention", {})
                pruned = [(table, rule) for table, rule in declared.items() if isinstance(rule, Pruned)]
                if pruned:
                    counts[projection.name] = sum(prune_table(cur, table, rule, cutoff) for table, rule in pruned)
            if also is not None:
                counts.update(also(cur))
        return counts

    def rebuild(self) -> None:
        """Empties every read model and follows the log again from its first event."""
        with self._lock, self.db.transaction() as cur:
            for projection in self.projections:
                tables: dict[str, str] | None = getattr(projection, "tables", None)
                if tables is not None:
                    for table in tables:
                        cur.execute(f"DELETE FROM {table}")
                else:
                    projection.clear(cur)  # type: ignore[attr-defined]
                cur.execute("UPDATE projection_tracking SET position = 0 WHERE name = %s", (projection.name,))
            cur.execute("DELETE FROM projection_faults")
        self.catch_up()

    def seen(self, position: int) -> bool:
        """Whether every read model not set aside by a fault has applied the log up to `position`."""
        faulty = set(self.faults())
        return all(seen >= position for name, seen in self.positions().items()
                   if name not in faulty and any(p.name == name for p in self.projections))

    def wait(self, position: int, timeout: float = 5.0) -> bool:
        """Read-your-writes without catching up here: waits, with a growing back-off, until the process that
        follows the log (the worker, woken by NOTIFY) has brought every read model to `position`."""
        deadline = time.monotonic() + timeout
        delay = WAIT_FIRST
        while not self.seen(position):
            if time.monotonic() + delay > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, WAIT_MAX)
        return True

    def wait_or_catch_up(self, position: int, timeout: float = WORKER_GRACE) -> None:
        """What a PostgreSQL web worker does after a save: wait for the worker process; only when it has not
        caught up within `timeout` (not running, or far behind) catch up here, and say so in the log."""
        if not self.wait(position, timeout):
            log.warning("read models did not reach position %s within %.1f s: is `sprechzimmer worker` running? "
                        "Catching up in the web worker.", position, timeout)
            self.catch_up()

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
