"""The in-process signalling hub of embedded mode: rooms in a dict under an asyncio lock per room.

Only correct with a single server process (embedded SQLite mode runs exactly one); several workers need
`infrastructure.signalling_pg`, which offers the same interface."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any, TypeVar

from application.calls import Outbound, Room

T = TypeVar("T")
Deliver = Callable[[dict[str, Any]], None]


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


class MemoryHub(LocalSockets):
    def __init__(self) -> None:
        super().__init__()
        self._rooms: dict[str, Room] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def health(self) -> str:
        return "ok"

    async def transact(self, room_id: str, org_id: str, rule: Callable[[Room], T]) -> T:
        lock = self._locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            room = copy.deepcopy(self._rooms.get(room_id)) or Room(room_id, org_id)
            result = rule(room)  # raises before anything is stored when the rules refuse
            if room.members:
                self._rooms[room_id] = room
            else:
                self._rooms.pop(room_id, None)  # the lock stays: a waiter may still hold it
            return result

    async def snapshot(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    async def publish(self, room_id: str, outbound: list[Outbound]) -> None:
        for out in outbound:
            self.deliver(room_id, out.recipients, out.message)
