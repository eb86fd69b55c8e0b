"""Signalling across several server processes (design/webrtc.md §2): room membership in PostgreSQL under a
per-room advisory lock, messages fanned out with LISTEN/NOTIFY; each process delivers to its own sockets.

NOTIFY payloads are limited to 8000 bytes, and a screen-share renegotiation offer is ~10 KB, so larger
messages go through the side table `call_signal_blob` and the notification carries only the row id."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool

from application.calls import Member, Outbound, Room
from infrastructure.signalling_memory import LocalSockets

T = TypeVar("T")
log = logging.getLogger("sprechzimmer.signalling")

CHANNEL = "sz_call_signal"
INLINE_LIMIT = 7000  # bytes; NOTIFY refuses 8000 and more
BLOB_TTL = 60.0
SCHEMA_LOCK = 7_261_001  # serialises CREATE TABLE across workers starting at the same moment

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS call_member (room TEXT NOT NULL, peer_id TEXT NOT NULL, org_id TEXT NOT NULL, "
    "role TEXT NOT NULL, state TEXT NOT NULL, since DOUBLE PRECISION NOT NULL, resume_hash TEXT NOT NULL, "
    "conn_id TEXT NOT NULL, connected BOOLEAN NOT NULL, gone_at DOUBLE PRECISION, worker TEXT NOT NULL, "
    "PRIMARY KEY (room, peer_id))",
    "CREATE TABLE IF NOT EXISTS call_signal_blob (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, "
    "created DOUBLE PRECISION NOT NULL)",
)
_COLUMNS = "peer_id, org_id, role, state, since, resume_hash, conn_id, connected, gone_at, worker"


class PostgresHub(LocalSockets):
    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.worker = f"{os.getpid()}"
        self._pool: AsyncConnectionPool | None = None
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._starting = False

    async def start(self) -> None:
        """Lazily, in the worker's event loop (after gunicorn's fork)."""
        if self._started.is_set():
            return
        if self._starting:
            await self._started.wait()
            return
        self._starting = True
        pool = AsyncConnectionPool(self.url, min_size=1, max_size=8, open=False, kwargs={"autocommit": False})
        await pool.open()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for statement in SCHEMA:
                await conn.execute(statement)
        self._pool = pool
        self._listener = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        await self._listener.execute(f"LISTEN {CHANNEL}")
        self._task = asyncio.create_task(self._listen())
        self._started.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._listener is not None:
            await self._listener.close()
        if self._pool is not None:
            async with self._pool.connection() as conn:  # this worker's sockets are gone with it
                await conn.execute("UPDATE call_member SET connected = FALSE, gone_at = %s WHERE worker = %s "
                                   "AND connected", (time.time() + 30.0, self.worker))
            await self._pool.close()

    def _require_pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise RuntimeError("signalling hub not started")
        return self._pool

    async def transact(self, room_id: str, org_id: str, rule: Callable[[Room], T]) -> T:
        async with self._require_pool().connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (room_id,))
            room = await self._load(conn, room_id, org_id)
            result = rule(room)  # a refusal raises here and the transaction rolls back
            await conn.execute("DELETE FROM call_member WHERE room = %s", (room_id,))
            for m in room.members.values():
                await conn.execute(
                    f"INSERT INTO call_member (room, {_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (room_id, m.peer_id, room.org_id, m.role, m.state, m.since, m.resume_hash, m.conn_id,
                     m.connected, m.gone_at, m.worker))
            return result

    async def snapshot(self, room_id: str) -> Room | None:
        async with self._require_pool().connection() as conn:
            room = await self._load(conn, room_id, "")
        return room if room.members else None

    @staticmethod
    async def _load(conn: psycopg.AsyncConnection[Any], room_id: str, org_id: str) -> Room:
        cur = await conn.execute(f"SELECT {_COLUMNS} FROM call_member WHERE room = %s", (room_id,))
        room = Room(room_id, org_id)
        for row in await cur.fetchall():
            room.org_id = row[1]
            room.members[row[0]] = Member(peer_id=row[0], role=row[2], state=row[3], since=row[4],
                                          resume_hash=row[5], conn_id=row[6], connected=row[7], gone_at=row[8],
                                          worker=row[9])
        return room

    async def publish(self, room_id: str, outbound: list[Outbound]) -> None:
        if not outbound:
            return
        async with self._require_pool().connection() as conn:
            for out in outbound:
                payload = json.dumps({"room": room_id, "to": out.recipients, "msg": out.message},
                                     separators=(",", ":"))
                if len(payload.encode()) > INLINE_LIMIT:
                    cur = await conn.execute("INSERT INTO call_signal_blob (payload, created) VALUES (%s, %s) "
                                             "RETURNING id", (payload, time.time()))
                    row = await cur.fetchone()
                    assert row is not None
                    payload = json.dumps({"blob": row[0]})
                await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
            await conn.commit()

    async def _listen(self) -> None:
        assert self._listener is not None
        last_clean = 0.0
        while True:
            try:
                async for note in self._listener.notifies():
                    await self._dispatch(note.payload)
                    if time.time() - last_clean > BLOB_TTL:
                        last_clean = time.time()
                        await self._clean_blobs()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep listening; a lost notification is recovered by client re-sync
                log.exception("signalling listener failed; reconnecting")
                await asyncio.sleep(0.5)
                with contextlib.suppress(Exception):
                    await self._listener.close()
                self._listener = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                await self._listener.execute(f"LISTEN {CHANNEL}")

    async def _dispatch(self, payload: str) -> None:
        data = json.loads(payload)
        if "blob" in data:
            async with self._require_pool().connection() as conn:
                cur = await conn.execute("SELECT payload FROM call_signal_blob WHERE id = %s", (data["blob"],))
                row = await cur.fetchone()
            if row is None:
                return
            data = json.loads(row[0])
        self.deliver(data["room"], data["to"], data["msg"])

    async def _clean_blobs(self) -> None:
        async with self._require_pool().connection() as conn:
            await conn.execute("DELETE FROM call_signal_blob WHERE created < %s", (time.time() - BLOB_TTL,))
            await conn.commit()
