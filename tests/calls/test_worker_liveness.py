"""A signalling worker killed with SIGKILL cannot say goodbye for its sockets: its members must not keep their
seats forever. Several workers exist only on PostgreSQL (embedded SQLite mode runs exactly one process), so
these tests run on the postgres backend only.

- `sprechzimmer serve --workers 2`: the practitioner's worker is killed with `kill -9`; the patient in the
  call on the other worker hears "peer-disconnected" and then "peer-left gone", and the practitioner joins
  the same appointments again — in the one to continue the call, in the other to admit the waiting patient
  whose seat the dead connection no longer blocks.
- in-process: the sweep reports members of a worker that stopped beating as gone, forgets the dead worker's
  liveness row afterwards, finds nothing to do the second time, and the erasure still finds the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import websockets

from infrastructure.signalling_pg import PostgresHub
from tests.calls.media import ServeProcess, process_tree
from tests.calls.support import GrantBook, Peer, token_hex
from tests.calls.test_call_e2e import practice_appointments, workers_of
from tests.conftest import LiveServer, free_port

HEARTBEAT, GRACE = 1.0, 2.0
# a dead worker counts as such after three missed beats (at least 3 s), is noticed by the next sweep (one
# beat later) and its members are gone after the grace period, counted from its last beat
GONE_WITHIN = max(3 * HEARTBEAT, 3.0) + HEARTBEAT + GRACE + 4.0  # + slack for a loaded machine


@pytest.fixture
def two_workers(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServeProcess,
                                                                                              str]]:
    database_url: str = request.getfixturevalue("postgres_url")
    port = free_port()
    env = {"SPRECHZIMMER_DATA_DIR": str(tmp_path / "var"), "SPRECHZIMMER_ORIGINS": f"http://127.0.0.1:{port}",
           "CALL_HEARTBEAT_SECONDS": str(HEARTBEAT), "CALL_GRACE_SECONDS": str(GRACE),
           "SMTP_PORT": str(free_port()), "DATABASE_URL": database_url, "KEYSTORE_URL": database_url,
           "SPRECHZIMMER_INSECURE_DEV": "1"}  # the test is about calls, not about where keys are kept
    server = ServeProcess(port, env, 2, tmp_path / "serve.log")
    try:
        server.wait_ready(2)
        yield server, database_url
    finally:
        server.stop()


async def _keepalive(peer: Peer) -> None:
    """The client's pings; without them the server drops a socket after three intervals."""
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await peer.send({"type": "ping"})
            await asyncio.sleep(float(peer.welcome["heartbeat_seconds"]))


async def _join_on(url: str, code: str, database_url: str, placed: Callable[[str], bool], **extra: Any) -> Peer:
    """Joins until the socket lands on a worker that `placed` accepts (the kernel picks the worker)."""
    for _ in range(40):
        peer = await Peer.join(url, code, **extra)
        if placed(workers_of(database_url)[peer.peer_id]):
            return peer
        await peer.send({"type": "leave"})
        await peer.close()
    raise AssertionError("the socket never landed on the wanted worker")


async def _try_join(url: str, code: str, session: str) -> Peer | int:
    """A fresh join (no resume token, as after a page reload): the Peer, or the close code of a refusal."""
    ws = await websockets.connect(url.replace("http", "ws", 1) + "/ws/v1/calls")
    token = await asyncio.to_thread(token_hex, code)  # Argon2id (§8a.4) off the event loop
    await ws.send(json.dumps({"type": "join", "token": token, "session": session}))
    first = json.loads(await asyncio.wait_for(ws.recv(), 5))
    if first["type"] == "welcome":
        peer = Peer(ws)
        peer.welcome = first
        return peer
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code is not None
    return ws.close_code


async def _rejoin(url: str, code: str, session: str, deadline: float) -> tuple[Peer, list[int]]:
    refusals: list[int] = []
    while time.monotonic() < deadline:
        outcome = await _try_join(url, code, session)
        if isinstance(outcome, Peer):
            return outcome, refusals
        refusals.append(outcome)
        await asyncio.sleep(0.3)
    raise AssertionError(f"the practitioner could not join again in time (refusals: {refusals})")


def _pid(worker: str) -> int:
    return int(worker.split(":")[-2])  # "<host>:<pid>:<random>"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # embedded mode runs one process
async def test_kill_9_of_a_worker_frees_the_seats_of_its_participants(
        two_workers: tuple[ServeProcess, str], tmp_path: Path) -> None:
    server, database_url = two_workers
    (in_call, waiting_room), session = practice_appointments(server.url, tmp_path / "praxis", 2)
    call_codes, wait_codes = in_call.patient.codes, waiting_room.patient.codes

    # the practitioner holds both appointments on one worker, the patients sit on the other
    patient = await Peer.join(server.url, call_codes["patient"])
    patient_worker = workers_of(database_url)[patient.peer_id]
    doctor = await _join_on(server.url, call_codes["practitioner"], database_url, lambda w: w != patient_worker,
                            session=session)
    doomed = workers_of(database_url)[doctor.peer_id]
    waiting = await _join_on(server.url, wait_codes["patient"], database_url, lambda w: w == patient_worker)
    desk = await _join_on(server.url, wait_codes["practitioner"], database_url, lambda w: w == doomed,
                          session=session)
    assert [w["peer_id"] for w in desk.welcome["waiting"]] == [waiting.peer_id]
    keepalives = [asyncio.create_task(_keepalive(p)) for p in (patient, waiting, doctor, desk)]
    try:
        await doctor.send({"type": "admit", "peer": patient.peer_id})
        await patient.expect("admitted")

        pid = _pid(doomed)
        assert pid in process_tree(server.proc.pid) and pid != server.proc.pid
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()

        # the patient in the call hears that the practitioner dropped and then that it is gone
        dropped = await patient.expect("peer-disconnected", timeout=GONE_WITHIN)
        assert dropped["peer_id"] == doctor.peer_id and dropped["connected"] is False
        left = await patient.expect("peer-left", timeout=GONE_WITHIN)
        assert left == {"type": "peer-left", "peer_id": doctor.peer_id, "role": "practitioner", "reason": "gone"}
        assert time.monotonic() - killed < GONE_WITHIN

        # the practitioner (page reloaded: no resume token) joins the call again and meets the patient
        deadline = killed + GONE_WITHIN
        again, _ = await _rejoin(server.url, call_codes["practitioner"], session, deadline)
        assert again.welcome["state"] == "admitted"
        assert [p["peer_id"] for p in again.welcome["peers"]] == [patient.peer_id]
        assert (await patient.expect("peer-joined"))["peer_id"] == again.peer_id
        await patient.send({"type": "offer", "sdp": "v=0\r\n", "mac": "00"})
        assert (await again.expect("offer"))["from"] == patient.peer_id

        # and takes the other appointment's desk again: the waiting patient kept the place and is admitted
        desk_again, _ = await _rejoin(server.url, wait_codes["practitioner"], session, deadline)
        assert [w["peer_id"] for w in desk_again.welcome["waiting"]] == [waiting.peer_id]
        await desk_again.send({"type": "admit", "peer": waiting.peer_id})
        admitted = await waiting.expect("admitted")
        assert [p["peer_id"] for p in admitted["peers"]] == [desk_again.peer_id]
        assert time.monotonic() - killed < GONE_WITHIN

        # nothing of the dead worker's connections is left in the rooms, and the call log says "gone"
        members = workers_of(database_url)
        assert doctor.peer_id not in members and desk.peer_id not in members
        assert doomed not in members.values()
        with psycopg.connect(database_url) as conn:
            gone = conn.execute("SELECT peer_id FROM call_log WHERE event = 'gone'").fetchall()
        assert {row[0] for row in gone} == {doctor.peer_id, desk.peer_id}
        for peer in (again, desk_again, patient, waiting):
            await peer.close()
    finally:
        for task in keepalives:
            task.cancel()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # liveness records exist on PostgreSQL only
async def test_sweep_reports_members_of_a_silent_worker_gone_and_cleans_up(
        backend: str, server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID]) -> None:
    appointment = grants.add(practice())
    patient = await Peer.join(server.url, appointment.patient_code)
    doctor = await Peer.lead(server.url, appointment)
    keepalives = [asyncio.create_task(_keepalive(p)) for p in (patient, doctor)]
    await doctor.send({"type": "admit", "peer": patient.peer_id})
    await patient.expect("admitted")
    calls = server.container.calls
    assert calls is not None and isinstance(calls.hub, PostgresHub)
    hub = calls.hub
    database_url = server.container.settings.database_url
    assert database_url is not None

    def sql(statement: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(database_url) as conn:
            cur = conn.execute(statement, args)
            return cur.fetchall() if cur.description else []

    # the practitioner's row now names a worker on another host that beat for the last time long ago
    sql("INSERT INTO call_worker (worker, beat) VALUES ('elsewhere:4242:dead', "
        "EXTRACT(EPOCH FROM clock_timestamp()) - 3600)")
    sql("UPDATE call_member SET worker = 'elsewhere:4242:dead' WHERE peer_id = %s", doctor.peer_id)

    # the sweep runs every heartbeat in this worker: the patient hears of it without anyone joining
    assert (await patient.expect("peer-disconnected", timeout=5))["peer_id"] == doctor.peer_id
    left = await patient.expect("peer-left", timeout=5)
    assert left["peer_id"] == doctor.peer_id and left["reason"] == "gone"
    assert [r[0] for r in sql("SELECT peer_id FROM call_member")] == [patient.peer_id]
    # once no member of it is connected, the dead worker's liveness row goes (in this or the next sweep)
    await hub.sweep()
    assert sql("SELECT worker FROM call_worker WHERE worker = 'elsewhere:4242:dead'") == []
    assert sql("SELECT worker FROM call_worker") == [(hub.worker,)]
    assert await hub.sweep() == 0  # idempotent: nothing left to do
    # the seat is free: the practitioner joins again and meets the patient
    again = await Peer.lead(server.url, appointment)
    assert [p["peer_id"] for p in again.welcome["peers"]] == [patient.peer_id]

    # rows rewritten by the sweep keep their organisation: the erasure of the practice finds and deletes them
    org_id = appointment.org_id
    assert {r[0] for r in sql("SELECT org_id FROM call_member")} == {str(org_id)}
    server.container.services.contracts.purger.forget(org_id, None)
    assert sql("SELECT peer_id FROM call_member") == []
    for task in keepalives:
        task.cancel()
    for peer in (again, patient, doctor):
        await peer.close()
