"""The in-process signalling hub of embedded mode: rooms in a dict under an asyncio lock per room.

Only correct with a single server process (embedded SQLite mode runs exactly one); several workers need
`infrastructure.signalling_pg`, which offers the same interface.

Membership is also written through to the state database (`call_member`, the same columns as on
PostgreSQL), so a restart of the server does not forget who was in which call: the media keeps flowing
peer-to-peer while the server is away, and the clients come back with their resume tokens into the same
place (still admitted, same peer id). Whoever was connected to the old process counts as dropped from the
moment the new one starts, with the ordinary grace period, and is reported gone if it does not return."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from application import calls
from application.calls import Member, Outbound, Room
from application.retention import Pruned, Retention
from infrastructure.sql import Database

T = TypeVar("T")
Deliver = Callable[[dict[str, Any]], None]
GoneHook = Callable[[str, str, Member], None]
log = logging.getLogger("sprechzimmer.signalling")

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS call_member (room TEXT NOT NULL, peer_id TEXT NOT NULL, org_id TEXT NOT NULL, "
    "role TEXT NOT NULL, state TEXT NOT NULL, since DOUBLE PRECISION NOT NULL, resume_hash TEXT NOT NULL, "
    "conn_id TEXT NOT NULL, connected BOOLEAN NOT NULL, gone_at DOUBLE PRECISION, worker TEXT NOT NULL, "
    "slot TEXT NOT NULL DEFAULT '', PRIMARY KEY (room, peer_id))",
)
# membership of running calls: a row goes when its peer leaves; what a crash left behind goes with retention
RETENTION: dict[str, Retention] = {"call_member": Pruned("since")}
COLUMNS = "peer_id, org_id, role, state, since, resume_hash, conn_id, connected, gone_at, worker, slot"
INSERT = f"INSERT INTO call_member (room, {COLUMNS}) VALUES ({', '.join(['%s'] * 12)})"


def member_from_row(row: Any) -> Member:
    return Member(peer_id=row[0], role=row[2], state=row[3], since=row[4], resume_hash=row[5], conn_id=row[6],
                  connected=bool(row[7]), gone_at=row[8], worker=row[9], slot=row[10])


def member_row(room_id: str, org_id: str, m: Member) -> tuple[Any, ...]:
    return (room_id, m.peer_id, org_id, m.role, m.state, m.since, m.resume_hash, m.conn_id, m.connected, m.gone_at,
            m.worker, m.slot)


class LocalSockets:
    """The sockets this process holds, by room and peer; shared by both hubs for the last hop."""

    def __init__(self) -> None:
        self._by_peer: dict[tuple[str, str], Deliver] = {}

    def attach(self, room_id: str, peer_id: str, deliver: Deliver) -> None:
        self._by_peer[(room_id, peer_id)] = deliver

    def detach(self, room_id: str, peer_id: str, deliver: Deliver) -> None:
        if self._by_peer.get((room_id, peer_id)) is deliver:
            del self._by_peer[(room_id, peer_id)]

    def deliver(self, room_id: str, recipients: list[str], message: dict[str, Any]) -> None:
        for peer_id in recipients:
            target = self._by_peer.get((room_id, peer_id))
            if target is not None:
                target(message)

    def local_rooms(self) -> set[str]:
        return {room_id for room_id, _ in self._by_peer}

    def local_peers(self, room_id: str) -> list[str]:
        return [peer_id for room, peer_id in self._by_peer if room == room_id]


class MemoryHub(LocalSockets):
    def __init__(self, store: Database | None = None, *, grace: float = 30.0,
                 now: Callable[[], float] = time.time, on_gone: GoneHook | None = None):
        super().__init__()
        self._rooms: dict[str, Room] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.store, self.grace, self.now, self.on_gone = store, grace, now, on_gone
        self._started = False
        self._expiry: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.store is not None:
            restored = await asyncio.to_thread(self._restore)
            if restored:  # nobody else would tell the others if a restored member never comes back
                self._expiry = asyncio.create_task(self._expire_restored(restored))

    async def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._expiry

    def health(self) -> str:
        return "ok"

    def _restore(self) -> list[str]:
        """The rooms of the previous process. Its sockets are gone: a member still marked connected dropped
        now, and every dropped member's grace counts from now, since nobody could resume while the server
        was away."""
        assert self.store is not None
        gone_at = self.now() + self.grace
        with self.store.transaction() as cur:
            for statement in SCHEMA:
                cur.execute(statement)
            rows = cur.execute(f"SELECT room, {COLUMNS} FROM call_member").fetchall()
            cur.execute("UPDATE call_member SET connected = %s, gone_at = %s", (False, gone_at))
        for row in rows:
            room = self._rooms.setdefault(row[0], Room(row[0], row[2]))
            member = member_from_row(row[1:])
            member.connected, member.gone_at = False, gone_at
            room.members[member.peer_id] = member
        if rows:
            log.info("signalling: restored %d call members of %d rooms after a restart", len(rows), len(self._rooms))
        return list(self._rooms)

    async def _expire_restored(self, room_ids: list[str]) -> None:
        await asyncio.sleep(self.grace + 0.1)
        for room_id in room_ids:
            room = self._rooms.get(room_id)
            if room is None:
                continue

            def purge(room: Room) -> tuple[list[Outbound], list[Member]]:
                before = dict(room.members)
                outbound = calls.purge_expired(room, self.now())
                return outbound, [m for peer_id, m in before.items() if peer_id not in room.members]

            outbound, gone = await self.transact(room_id, room.org_id, purge)
            await self.publish(room_id, outbound)
            for member in gone:
                if self.on_gone is not None:
                    await asyncio.to_thread(self.on_gone, room.org_id, room_id, member)

    def _save(self, room_id: str, room: Room | None) -> None:
        assert self.store is not None
        with self.store.transaction() as cur:
            cur.execute("DELETE FROM call_member WHERE room = %s", (room_id,))
            if room is None:
                return
            for member in room.members.values():
                cur.execute(INSERT, member_row(room_id, room.org_id, member))

    async def transact(self, room_id: str, org_id: str, rule: Callable[[Room], T]) -> T:
        lock = self._locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            room = copy.deepcopy(self._rooms.get(room_id)) or Room(room_id, org_id)
            result = rule(room)  # raises before anything is stored when the rules refuse
            if self.store is not None:
                await asyncio.to_thread(self._save, room_id, room if room.members else None)
            if room.members:
                self._rooms[room_id] = room
            else:
                self._rooms.pop(room_id, None)  # the lock stays: a waiter may still hold it
            return result

    async def snapshot(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    async def publish(self, room_id: str, outbound: list[Outbound], room: Room | None = None) -> None:
        for out in outbound:
            self.deliver(room_id, out.recipients, out.message)
