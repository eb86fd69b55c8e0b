"""The PostgreSQL hub relays without reading the room from the database for every message (issue 13.6): each
worker keeps the rooms of its sockets as of the last change it heard of. What must hold for that to be safe:
a change made by any worker reaches every other worker's relay at once, and what changed while a worker's
listener was away (its notifications lost) is never served from the cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from application import calls
from application.calls import ADMITTED, PATIENT, PRACTITIONER, Member, Refused, Room
from infrastructure.signalling_pg import LISTENER_NAME, PostgresHub

ROOM, ORG = "5f0c6c3e-0000-4000-8000-000000000001", "7a1d9a52-0000-4000-8000-000000000002"
OFFER = {"type": "offer", "sdp": "v=0", "mac": "00"}


@pytest.fixture
async def hubs(postgres_url: str) -> AsyncIterator[tuple[PostgresHub, PostgresHub]]:
    """Two workers on one database (heartbeats rare: the test's own statements are what it counts)."""
    first, second = PostgresHub(postgres_url, heartbeat=60), PostgresHub(postgres_url, heartbeat=60)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


def _seat(hub: PostgresHub) -> Any:
    """A practitioner and a patient, both admitted, both connected to `hub`."""
    def rule(room: Room) -> None:
        for peer_id, role in (("arzt", PRACTITIONER), ("patientin", PATIENT)):
            room.members[peer_id] = Member(peer_id=peer_id, role=role, state=ADMITTED, since=time.time(),
                                           resume_hash="h", conn_id=f"c-{peer_id}", worker=hub.worker)
    return rule


async def _relay(hub: PostgresHub, message: dict[str, Any]) -> None:
    """What the relay loop does for a message of the practitioner (interfaces/http/calls.py)."""
    room = await hub.snapshot(ROOM)
    if room is None:
        raise Refused(0, calls.MSG_NOT_IN_ROOM)
    await hub.publish(ROOM, [calls.relay(room, sender_id="arzt", message=message)], room)


async def _settled(hub: PostgresHub) -> None:
    """Until the worker's own change notifications have come back through its listener."""
    for _ in range(100):
        await hub.snapshot(ROOM)
        if ROOM in hub._rooms:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the room was never kept")


async def test_relay_reads_the_room_once_and_hears_of_changes_by_other_workers(
        hubs: tuple[PostgresHub, PostgresHub], monkeypatch: pytest.MonkeyPatch) -> None:
    here, elsewhere = hubs
    received: list[dict[str, Any]] = []
    here.attach(ROOM, "arzt", lambda message: None)
    here.attach(ROOM, "patientin", received.append)
    await here.transact(ROOM, ORG, _seat(here))
    await _settled(here)

    loads = 0
    load = PostgresHub._load

    async def counted(*args: Any) -> Room:
        nonlocal loads
        loads += 1
        return await load(*args)

    monkeypatch.setattr(PostgresHub, "_load", staticmethod(counted))
    for _ in range(50):
        await _relay(here, OFFER)
    assert len(received) == 50 and received[0]["from"] == "arzt"
    assert loads == 0  # the hot path made no database round trip

    # another worker sends the patient back: from the moment that is committed, her relay stops at once
    decision = await elsewhere.transact(ROOM, ORG, lambda room: calls.send_back(
        room, actor_id="arzt", patient_id="patientin", now=time.time()))
    await elsewhere.publish(ROOM, decision.outbound)
    for _ in range(100):
        try:
            await _relay(here, {**OFFER, "to": "patientin"})
        except Refused as refused:
            assert refused.reason == calls.MSG_NOT_IN_ROOM
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("a patient sent back by another worker still got the practice's messages")
    assert loads >= 1  # read afresh after the change


async def test_what_changed_while_the_listener_was_away_is_read_afresh(
        hubs: tuple[PostgresHub, PostgresHub], postgres_url: str) -> None:
    here, _ = hubs
    here.attach(ROOM, "arzt", lambda message: None)
    here.attach(ROOM, "patientin", lambda message: None)
    await here.transact(ROOM, ORG, _seat(here))
    await _settled(here)

    # the listener's connection is cut, and meanwhile the patient is sent back without anyone hearing of it
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                     (LISTENER_NAME,))
        conn.execute("UPDATE call_member SET state = 'waiting' WHERE peer_id = 'patientin'")
    for _ in range(200):
        if here.health() == "degraded":
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the listener never noticed that its connection was cut")
    for _ in range(500):  # the listener is back
        if here.health() == "ok":
            break
        await asyncio.sleep(0.01)
    room = await here.snapshot(ROOM)
    assert room is not None and room.members["patientin"].state == "waiting"
    with pytest.raises(Refused):
        await _relay(here, {**OFFER, "to": "patientin"})
