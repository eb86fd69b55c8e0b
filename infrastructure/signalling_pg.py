"""Signalling across several server processes (design/webrtc.md §2): room membership in PostgreSQL under a
per-room advisory lock, messages fanned out with LISTEN/NOTIFY; each process delivers to its own sockets.

NOTIFY payloads are limited to 8000 bytes, and a screen-share renegotiation offer is ~10 KB, so larger
messages go through the side table `call_signal_blob` and the notification carries only the row id.

Liveness: a worker killed with SIGKILL cannot mark its members disconnected, and its timers that would report
them gone die with it. So every worker beats in `call_worker` (database clock, so hosts with skewed clocks
agree) and, whenever a room is loaded under its lock, members of a worker that has not beaten for
`stale_after` seconds count as disconnected since that worker's last beat: the ordinary grace, resume and
"gone" rules of application/calls.py then apply. A sweep in every started worker visits the rooms that hold
such members (nobody else may touch those rooms: the dead worker's timers are gone), so the other parties
hear "peer-disconnected" and, after the grace period, "peer-left gone", and the seats are freed.

Database outages (a restart, `pg_terminate_backend`, a network blip): pool connections are checked before use,
the publisher of relayed messages is replaced once when it was lost, and an operation that cannot reach the
database raises `HubUnavailable` (the socket then tells its client to try again) instead of failing the
socket. The listener reconnects with back-off for as long as the worker lives; since notifications sent
meanwhile are lost, every room with sockets here is re-read after a reconnect and its members get a `sync`
with their current state. While the listener or the heartbeat is down, `health()` says "degraded" (shown in
/api/v1/status). A worker that could not beat itself does not judge others dead until it has beaten again for
`stale_after` seconds: they could not beat either.

The relay's hot path makes no database round trip: each worker keeps the rooms its sockets are in as of the
last change it heard of. Every change of a room notifies on the same channel within its transaction, so the
news reaches every worker in commit order, ahead of any message relayed after it, and drops that room from
their caches; the next relay reads it afresh. A read that raced with any change is not kept (a counter of
changes heard of), and while the listener is away (notifications lost) nothing is cached."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from application import calls
from application.calls import HubUnavailable, Member, Outbound, Room
from application.retention import Kept, Pruned, Retention
from infrastructure.signalling_memory import COLUMNS, INSERT, LocalSockets, member_from_row, member_row
from infrastructure.sql import server_went_away

T = TypeVar("T")
GoneHook = Callable[[str, str, Member], None]
log = logging.getLogger("sprechzimmer.signalling")

CHANNEL = "sz_call_signal"
INLINE_LIMIT = 7000  # bytes; NOTIFY refuses 8000 and more
BLOB_TTL = 60.0
SCHEMA_LOCK = 7_261_001  # serialises CREATE TABLE across workers starting at the same moment
STALE_BEATS = 3  # like a client socket: silent for three heartbeat intervals means dead
MIN_STALE_SECONDS = 3.0  # a worker's loop may stall briefly (GC, a slow query); never call that death
WORKER_ROW_TTL = 600.0  # a dead worker's liveness row goes once none of its members is left connected
DB_NOW = "EXTRACT(EPOCH FROM clock_timestamp())"
POOL_TIMEOUT = 5.0  # a caller waits this long for a connection before the hub counts as unavailable
RECONNECT_MAX_DELAY = 5.0  # the listener retries forever, at most this far apart
APPLICATION_NAME = "sprechzimmer-signalling"  # tells operators (pg_stat_activity) which connections are the hub's
LISTENER_NAME = APPLICATION_NAME + "-listener"
DATABASE_AWAY = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


async def _check_pooled(conn: psycopg.AsyncConnection[Any]) -> None:
    """As infrastructure.sql.check_pooled: a round trip only when the server has said something."""
    if server_went_away(conn):
        await AsyncConnectionPool.check_connection(conn)


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS call_member (room TEXT NOT NULL, peer_id TEXT NOT NULL, org_id TEXT NOT NULL, "
    "role TEXT NOT NULL, state TEXT NOT NULL, since DOUBLE PRECISION NOT NULL, resume_hash TEXT NOT NULL, "
    "conn_id TEXT NOT NULL, connected BOOLEAN NOT NULL, gone_at DOUBLE PRECISION, worker TEXT NOT NULL, "
    "PRIMARY KEY (room, peer_id))",
    "CREATE TABLE IF NOT EXISTS call_signal_blob (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, "
    "created DOUBLE PRECISION NOT NULL)",
    # One row per running worker (no personal data: host name, pid, random suffix); `beat` in database time.
    "CREATE TABLE IF NOT EXISTS call_worker (worker TEXT PRIMARY KEY, beat DOUBLE PRECISION NOT NULL)",
    # the code's seat (§8a.6); '' in rows of a version before seats
    "ALTER TABLE call_member ADD COLUMN IF NOT EXISTS slot TEXT NOT NULL DEFAULT ''",
)
_COLUMNS = COLUMNS
RETENTION: dict[str, Retention] = {
    "call_member": Pruned("since"), "call_signal_blob": Pruned("created"),
    "call_worker": Kept("laufende Prozesse des Betreibers (Rechnername, PID, Herzschlag), keine Daten der Praxen; "
                        "ein beendeter Prozess trägt sich aus")}


def worker_id() -> str:
    """Unique across hosts and restarts: pids repeat across hosts (and containers), hence the host name and
    a random suffix. The pid stays readable for operators (and tests) who look for the process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class PostgresHub(LocalSockets):
    def __init__(self, url: str, *, heartbeat: float = 10.0, grace: float = 30.0,
                 now: Callable[[], float] = time.time, on_gone: GoneHook | None = None):
        super().__init__()
        self.url = url
        self.worker = worker_id()  # set again in start(): the hub may be built before gunicorn forks
        self.heartbeat = heartbeat
        self.grace = grace
        self.stale_after = max(STALE_BEATS * heartbeat, MIN_STALE_SECONDS)
        self.now = now
        self.on_gone = on_gone  # (org_id, room_id, member) of a member the sweep reported gone; blocking is fine
        self._pool: AsyncConnectionPool | None = None
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._publisher: psycopg.AsyncConnection[Any] | None = None  # relayed messages (see _notify)
        self._publishing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()
        self._started = False
        self._listening = False
        self._beat_ok = True
        self._beating_since = float("-inf")  # monotonic; when the heartbeat last came back after failing
        self._rooms: dict[str, Room] = {}  # rooms with sockets here, as of the last change heard of
        self._heard = 0  # changes heard of (and listener reconnects): a read that raced with one is not kept

    async def start(self) -> None:
        """Lazily, in the worker's event loop (after gunicorn's fork). Raises HubUnavailable while the database
        cannot be reached; the next socket tries again."""
        async with self._start_lock:
            if self._started:
                return
            self.worker = worker_id()
            pool = AsyncConnectionPool(self.url, min_size=1, max_size=8, open=False, timeout=POOL_TIMEOUT,
                                       check=_check_pooled,
                                       kwargs={"autocommit": False, "application_name": APPLICATION_NAME})
            try:
                await pool.open(wait=True, timeout=POOL_TIMEOUT)
                async with pool.connection() as conn, conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                    for statement in SCHEMA:
                        await conn.execute(statement)
                self._pool = pool
                await self._beat()  # before any member names this worker, so nobody takes it for dead
            except (*DATABASE_AWAY, HubUnavailable) as error:
                self._pool = None
                await pool.close()
                raise HubUnavailable(str(error)) from None
            self._task = asyncio.create_task(self._listen())
            self._beat_task = asyncio.create_task(self._keep_beating())
            self._started = True

    async def stop(self) -> None:
        for task in (self._beat_task, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._pool is not None:
            try:
                async with self._connection() as conn:  # this worker's sockets are gone with it
                    cur = await conn.execute("UPDATE call_member SET connected = FALSE, gone_at = %s "
                                             "WHERE worker = %s AND connected RETURNING room",
                                             (self.now() + self.grace, self.worker))
                    for room_id in {row[0] for row in await cur.fetchall()}:
                        await self._notify_change(conn, room_id)
                    await conn.execute("DELETE FROM call_worker WHERE worker = %s", (self.worker,))
            except HubUnavailable:  # the others' liveness check reports these members once it can
                log.warning("signalling: the database is away; this worker's members are left to the others")
            await self._pool.close()
        await self._close_publisher()

    def health(self) -> str:
        """Says "degraded" while fan-out (the listener) or the liveness heartbeat cannot reach the database."""
        return "degraded" if self._started and not (self._listening and self._beat_ok) else "ok"

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A checked connection of the pool; a database that cannot be reached becomes HubUnavailable (the
        transaction, if any, rolled back: nothing was changed)."""
        try:
            async with self._require_pool().connection() as conn:
                yield conn
        except DATABASE_AWAY as error:
            raise HubUnavailable(str(error)) from None

    def _require_pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise HubUnavailable("signalling hub not started")
        return self._pool

    async def transact(self, room_id: str, org_id: str, rule: Callable[[Room], T]) -> T:
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (room_id,))
            room = await self._load(conn, room_id, org_id)
            # Marking is deterministic (since the dead worker's last beat), so when the rule refuses and
            # everything rolls back, the next load or sweep marks the same members the same way.
            notices = await self._mark_dead_workers(conn, room)
            result = rule(room)  # a refusal raises here and the transaction rolls back
            await self._store(conn, room_id, room)
            await self._notify_change(conn, room_id)
        self._forget(room_id)
        # after the commit and with the connection back in the pool: "peer-disconnected" before the rule's news
        await self.publish(room_id, notices)
        return result

    async def _mark_dead_workers(self, conn: psycopg.AsyncConnection[Any], room: Room) -> list[Outbound]:
        """Connected members of a worker that stopped beating dropped when it last beat (a member whose worker
        has no row at all — written before liveness rows existed, or by a worker that never beat — from now)."""
        suspects = {m.worker for m in room.members.values() if m.connected and m.worker != self.worker}
        if not suspects or not self._may_judge():
            return []
        cur = await conn.execute(f"SELECT worker, {DB_NOW} - beat FROM call_worker WHERE worker = ANY(%s)",
                                 (sorted(suspects),))
        ages: dict[str, float] = {row[0]: float(row[1]) for row in await cur.fetchall()}
        now, notices = self.now(), []
        for member in list(room.members.values()):
            age = ages.get(member.worker)
            if member.worker not in suspects or not member.connected or (age is not None and age <= self.stale_after):
                continue
            log.warning("signalling worker %s stopped beating; its call member counts as disconnected",
                        member.worker)
            decision = calls.disconnect(room, peer_id=member.peer_id, conn_id=member.conn_id,
                                        now=now - (age or 0.0), grace=self.grace)
            notices.extend(decision.outbound)
        return notices

    @staticmethod
    async def _notify_change(conn: psycopg.AsyncConnection[Any], room_id: str) -> None:
        """Delivered on commit, ahead of anything relayed after it: every worker's cache drops this room."""
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps({"changed": room_id})))

    @staticmethod
    async def _store(conn: psycopg.AsyncConnection[Any], room_id: str, room: Room) -> None:
        await conn.execute("DELETE FROM call_member WHERE room = %s", (room_id,))
        for m in room.members.values():
            await conn.execute(INSERT, member_row(room_id, room.org_id, m))

    async def snapshot(self, room_id: str) -> Room | None:
        """The room as of the last change this worker heard of (the relay's hot path: mostly no round trip).
        Callers only read it."""
        room = self._rooms.get(room_id)
        if room is None:
            heard = self._heard
            async with self._connection() as conn:
                room = await self._load(conn, room_id, "")
            if self._listening and heard == self._heard and room_id in self.local_rooms():
                self._rooms[room_id] = room
        return room if room.members else None

    def _forget(self, room_id: str | None = None) -> None:
        """Drops one room from the cache, or (None) all of them."""
        self._heard += 1
        if room_id is None:
            self._rooms.clear()
        else:
            self._rooms.pop(room_id, None)

    def detach(self, room_id: str, peer_id: str, deliver: Callable[[dict[str, Any]], None]) -> None:
        super().detach(room_id, peer_id, deliver)
        if room_id not in self.local_rooms():
            self._rooms.pop(room_id, None)

    @staticmethod
    async def _load(conn: psycopg.AsyncConnection[Any], room_id: str, org_id: str) -> Room:
        cur = await conn.execute(f"SELECT {_COLUMNS} FROM call_member WHERE room = %s", (room_id,))
        room = Room(room_id, org_id)
        for row in await cur.fetchall():
            room.org_id = row[1]
            room.members[row[0]] = member_from_row(row)
        return room

    # --- liveness -------------------------------------------------------------------------------------

    async def _beat(self) -> None:
        async with self._connection() as conn:
            await conn.execute(f"INSERT INTO call_worker (worker, beat) VALUES (%s, {DB_NOW}) "
                               "ON CONFLICT (worker) DO UPDATE SET beat = EXCLUDED.beat", (self.worker,))

    def _may_judge(self) -> bool:
        """Whether others' silence means anything: not while this worker could not beat itself, nor for
        `stale_after` seconds after, until every live worker has had the chance to beat again."""
        return self._beat_ok and time.monotonic() - self._beating_since >= self.stale_after

    async def _keep_beating(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat if self._beat_ok else min(self.heartbeat, 1.0))
            try:
                await self._beat()
                if not self._beat_ok:
                    self._beat_ok, self._beating_since = True, time.monotonic()
                    log.warning("signalling heartbeat reaches the database again")
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except HubUnavailable:  # the database is away for a moment; beat again shortly
                if self._beat_ok:
                    log.warning("signalling heartbeat cannot reach the database")
                self._beat_ok = False
            except Exception:
                log.warning("signalling heartbeat or sweep failed", exc_info=True)

    async def sweep(self) -> int:
        """Visits, under their locks, the rooms that need a live worker's attention: members of dead workers
        still marked connected or past their grace period, and any member whose grace ran out long ago
        without its worker's timer reporting it. Idempotent: several workers may sweep at once, the second
        finds nothing left. Also forgets liveness rows of long-dead workers. Returns the rooms visited."""
        if not self._may_judge():
            return 0
        now = self.now()
        async with self._connection() as conn:
            cur = await conn.execute(
                "SELECT DISTINCT m.room, m.org_id FROM call_member m LEFT JOIN call_worker w ON w.worker = m.worker"
                f" WHERE (m.worker <> %s AND (w.beat IS NULL OR w.beat < {DB_NOW} - %s)"
                " AND (m.connected OR m.gone_at <= %s)) OR (NOT m.connected AND m.gone_at < %s)",
                (self.worker, self.stale_after, now, now - self.stale_after))
            rooms = [(str(r[0]), str(r[1])) for r in await cur.fetchall()]
            # a dead worker's row stays while a member of it is still marked connected: that row's last beat
            # is when its members dropped
            await conn.execute(f"DELETE FROM call_worker w WHERE w.beat < {DB_NOW} - %s AND NOT EXISTS "
                               "(SELECT 1 FROM call_member m WHERE m.worker = w.worker AND m.connected)",
                               (max(WORKER_ROW_TTL, self.stale_after + self.grace),))
        for room_id, org_id in rooms:
            outbound, gone = await self.transact(room_id, org_id, self._purge)
            await self.publish(room_id, outbound)
            for member in gone:
                if self.on_gone is not None:
                    await asyncio.to_thread(self.on_gone, org_id, room_id, member)
        return len(rooms)

    def _purge(self, room: Room) -> tuple[list[Outbound], list[Member]]:
        before = dict(room.members)
        outbound = calls.purge_expired(room, self.now())
        return outbound, [m for peer_id, m in before.items() if peer_id not in room.members]

    # --- fan-out ----------------------------------------------------------------------------------------

    async def publish(self, room_id: str, outbound: list[Outbound], room: Room | None = None) -> None:
        """Fan-out by NOTIFY to every worker. With the room snapshot (the relay's hot path), recipients connected
        to this very worker get the message at once, without a database round trip: the snapshot names the
        worker of each member's current socket, so a stale socket left here by a peer who resumed on another
        worker is never mistaken for it."""
        if room is not None:
            outbound = [remote for out in outbound if (remote := self._deliver_here(room_id, room, out)) is not None]
        for out in outbound:
            await self._notify(json.dumps({"room": room_id, "to": out.recipients, "msg": out.message},
                                          separators=(",", ":")))

    async def _notify(self, payload: str) -> None:
        """One NOTIFY on the publisher, a connection of its own in autocommit: a single round trip (a pool
        checkout would add its check, a BEGIN and a COMMIT). It is in order with the changes of rooms, which
        notify within their transactions: PostgreSQL delivers notifications in commit order, and a message is
        published only after the change it follows has committed. A connection lost since its last use (a
        restart, `pg_terminate_backend`) is replaced once before the hub counts as unavailable."""
        async with self._publishing:
            try:
                await self._send(payload)
            except DATABASE_AWAY:
                await self._close_publisher()
                try:
                    await self._send(payload)
                except DATABASE_AWAY as error:
                    await self._close_publisher()
                    raise HubUnavailable(str(error)) from None

    async def _send(self, payload: str) -> None:
        if self._publisher is None or self._publisher.closed:
            self._publisher = await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=int(POOL_TIMEOUT), application_name=APPLICATION_NAME)
        if len(payload.encode()) > INLINE_LIMIT:
            cur = await self._publisher.execute("INSERT INTO call_signal_blob (payload, created) VALUES (%s, %s) "
                                                "RETURNING id", (payload, time.time()))
            row = await cur.fetchone()
            assert row is not None
            payload = json.dumps({"blob": row[0]})
        await self._publisher.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def _close_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            with contextlib.suppress(Exception):
                await publisher.close()

    def _deliver_here(self, room_id: str, room: Room, out: Outbound) -> Outbound | None:
        """Delivers `out` to its recipients on this worker; returns what is left for the others, if anything."""
        here: list[str] = []
        elsewhere: list[str] = []
        for peer_id in out.recipients:
            member = room.members.get(peer_id)
            local = member is not None and member.worker == self.worker and (room_id, peer_id) in self._by_peer
            (here if local else elsewhere).append(peer_id)
        self.deliver(room_id, here, out.message)
        return Outbound(elsewhere, out.message) if elsewhere else None

    async def _listen(self) -> None:
        """LISTEN on a connection of its own, reconnecting with back-off for as long as the worker lives."""
        delay, connected_before = 0.0, False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=int(POOL_TIMEOUT), application_name=LISTENER_NAME)
                try:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._forget()  # what changed while nobody listened is unknown
                    self._listener, self._listening, delay = conn, True, 0.0
                    if connected_before:
                        log.warning("signalling listener reconnected; re-reading the rooms of this worker")
                        await self._resync()
                    connected_before = True
                    await self._receive(conn)
                finally:
                    self._listening = False
                    self._forget()
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: notifications are lost until we are back
                log.warning("signalling listener lost the database (%s); reconnecting", type(error).__name__)
            delay = min(max(delay * 2, 0.25), RECONNECT_MAX_DELAY)
            await asyncio.sleep(delay)

    async def _receive(self, conn: psycopg.AsyncConnection[Any]) -> None:
        last_clean = 0.0
        async for note in conn.notifies():
            try:
                await self._dispatch(note.payload)
                if time.time() - last_clean > BLOB_TTL:
                    last_clean = time.time()
                    await self._clean_blobs()
            except HubUnavailable:  # a blob could not be read: that message is lost, the listener goes on
                log.warning("signalling: a message could not be read from the database")

    async def _resync(self) -> None:
        """After an outage: what each local member missed, as its current state in the room."""
        for room_id in self.local_rooms():
            room = await self.snapshot(room_id)
            for peer_id in self.local_peers(room_id):
                member = room.members.get(peer_id) if room is not None else None
                if member is not None and room is not None:
                    self.deliver(room_id, [peer_id], calls.sync_view(room, member))

    async def _dispatch(self, payload: str) -> None:
        data = json.loads(payload)
        if "changed" in data:
            self._forget(data["changed"])
            return
        if "blob" in data:
            async with self._connection() as conn:
                cur = await conn.execute("SELECT payload FROM call_signal_blob WHERE id = %s", (data["blob"],))
                row = await cur.fetchone()
            if row is None:
                return
            data = json.loads(row[0])
        self.deliver(data["room"], data["to"], data["msg"])

    async def _clean_blobs(self) -> None:
        async with self._connection() as conn:
            await conn.execute("DELETE FROM call_signal_blob WHERE created < %s", (time.time() - BLOB_TTL,))
            await conn.commit()
