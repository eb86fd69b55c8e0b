"""Signalling survives the database (issue 10.2): PostgreSQL restarts, failovers and `pg_terminate_backend`
must not leave patients waiting forever. The hub's listener reconnects with back-off, pool connections are
checked before use, rooms are re-read after a reconnect, and /api/v1/status shows the hub as degraded while
it cannot reach the database. PostgreSQL only: the embedded hub has no connection to lose."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable

import httpx
import psycopg
import pytest
import websockets

from infrastructure.signalling_pg import APPLICATION_NAME, LISTENER_NAME
from tests.calls.support import GrantBook, Peer, token_hex
from tests.calls.test_signalling import SDP_ONE_VIDEO, admitted_pair
from tests.conftest import OPERATOR_TOKEN, TEST_DATABASE_URL, LiveServer

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def _database(server: LiveServer) -> str:
    url = server.container.settings.database_url
    assert url is not None and TEST_DATABASE_URL is not None
    return url.rsplit("/", 1)[1]


def _admin(statement: str, *args: object) -> None:
    assert TEST_DATABASE_URL is not None
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(statement, args)


def terminate(server: LiveServer, only: str | None = None) -> None:
    """pg_terminate_backend of the server's connections: all of them, or those of one application name."""
    _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
           + (" AND application_name = %s" if only else ""), *((_database(server), only) if only else
                                                              (_database(server),)))


def signalling_status(server: LiveServer) -> str | None:
    answer = httpx.get(server.url + "/api/v1/status", timeout=10,
                       headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    return str(answer.json().get("signalling")) if answer.status_code == 200 else None


async def until_status(server: LiveServer, wanted: str, attempts: int = 200) -> None:
    for _ in range(attempts):
        if await asyncio.to_thread(signalling_status, server) == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"/api/v1/status never reported signalling {wanted!r}")


async def keepalive(peer: Peer) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await peer.send({"type": "ping"})
            await asyncio.sleep(float(peer.welcome["heartbeat_seconds"]))


async def a_call_can_be_set_up(server: LiveServer, grants: GrantBook, org_id: uuid.UUID) -> None:
    _, doctor, patient = await admitted_pair(server, grants, org_id)
    await patient.send({"type": "offer", "sdp": SDP_ONE_VIDEO, "mac": "00"})
    assert (await doctor.expect("offer"))["from"] == patient.peer_id
    for peer in (doctor, patient):
        await peer.send({"type": "leave"})
        await peer.close()


async def test_signalling_survives_terminated_connections_and_an_outage(
        backend: str, server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID]) -> None:
    org_id = practice()
    _, doctor, patient = await admitted_pair(server, grants, org_id)  # a call in progress all along
    pings = [asyncio.create_task(keepalive(p)) for p in (doctor, patient)]
    try:
        assert await asyncio.to_thread(signalling_status, server) == "ok"

        # every connection of the server is terminated once: the next call is set up as if nothing happened
        await asyncio.to_thread(terminate, server)
        await until_status(server, "ok")
        await a_call_can_be_set_up(server, grants, org_id)

        # the hub's connections are terminated again and again: the status says so while it lasts
        seen_degraded = False
        for _ in range(100):
            for name in (APPLICATION_NAME, LISTENER_NAME):
                await asyncio.to_thread(terminate, server, name)
            if await asyncio.to_thread(signalling_status, server) == "degraded":
                seen_degraded = True
                break
            await asyncio.sleep(0.05)
        assert seen_degraded
        await until_status(server, "ok")
        await a_call_can_be_set_up(server, grants, org_id)

        # the database refuses every connection for a few seconds (a restart, a failover)
        name = _database(server)
        await asyncio.to_thread(_admin, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            await asyncio.to_thread(terminate, server)
            ws = await websockets.connect(server.url.replace("http", "ws", 1) + "/ws/v1/calls")
            await ws.send(json.dumps({"type": "join", "token": token_hex(grants.add(org_id).patient_code)}))
            error = json.loads(await asyncio.wait_for(ws.recv(), 30))  # an answer, not a wait without end
            assert error["type"] == "error" and error["code"] == 4503
            assert error["detail"] == "Die Signalisierung ist kurz nicht erreichbar. Bitte gleich erneut versuchen."
            await asyncio.sleep(3)
        finally:
            await asyncio.to_thread(_admin, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await until_status(server, "ok")
        await a_call_can_be_set_up(server, grants, org_id)  # without restarting the server

        # the call that was running all along still relays
        await doctor.send({"type": "offer", "sdp": SDP_ONE_VIDEO, "mac": "00"})
        assert (await patient.expect("offer"))["from"] == doctor.peer_id
    finally:
        for task in pings:
            task.cancel()
        for peer in (doctor, patient):
            await peer.close()


async def test_what_the_listener_missed_arrives_as_sync(backend: str, server: LiveServer, grants: GrantBook,
                                                        practice: Callable[..., uuid.UUID]) -> None:
    """The patient is admitted while the hub's listener is cut off, so the notification "admitted" may be
    lost: after the listener is back, the patient learns its place all the same (a `sync` with its state)."""
    appointment = grants.add(practice())
    doctor = await Peer.lead(server.url, appointment)
    patient = await Peer.join(server.url, appointment.patient_code)
    pings = [asyncio.create_task(keepalive(p)) for p in (doctor, patient)]
    try:
        cutting = True

        async def cut_listener() -> None:
            while cutting:
                await asyncio.to_thread(terminate, server, LISTENER_NAME)
                await asyncio.sleep(0.02)

        cutter = asyncio.create_task(cut_listener())
        await until_status(server, "degraded")
        await doctor.send({"type": "admit", "peer": patient.peer_id})  # the pool still reaches the database
        await asyncio.sleep(0.5)
        cutting = False
        await cutter
        await until_status(server, "ok")
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # "admitted" if its notification got through after all, else the sync after the reconnect
            message = await patient.recv(max(deadline - asyncio.get_running_loop().time(), 0.01))
            if message["type"] == "admitted" or (message["type"] == "sync" and message["state"] == "admitted"):
                assert [p["peer_id"] for p in message["peers"]] == [doctor.peer_id]
                break
        await patient.send({"type": "offer", "sdp": SDP_ONE_VIDEO, "mac": "00"})
        assert (await doctor.expect("offer"))["from"] == patient.peer_id
    finally:
        for task in pings:
            task.cancel()
        for peer in (doctor, patient):
            await peer.close()
