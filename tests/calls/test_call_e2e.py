"""Calls with real media: two aiortc peers (the SDK's call client) through the real server.

- `sprechzimmer serve` as a subprocess — SQLite (one worker) and PostgreSQL with two gunicorn workers: the
  patient waits, is admitted, video arrives on both sides over a direct candidate pair, the server processes
  hold no UDP socket, and the call keeps flowing after the server is stopped.
- a relay-only call through Debian's coturn with the REST credentials the server hands out;
- a tampering relay that rewrites a DTLS fingerprint: the call is refused with a visible reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import websockets

from infrastructure.settings import Settings
from interfaces.client import appointments
from interfaces.client.call import MSG_REMOTE_TAMPERED, MSG_TAMPERED, Call, SignallingTampered
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from tests.calls.media import Coturn, ServeProcess, process_tree, udp_socket_inodes
from tests.calls.support import GrantBook, Peer, with_consent
from tests.conftest import PASSWORD, Clock, LiveServer, free_port, register

pytestmark = pytest.mark.slow
DIRECT = {"host", "srflx", "prflx"}


@pytest.fixture
def served(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServeProcess,
                                                                                         str | None]]:
    """SQLite: `sprechzimmer serve` (embedded, one worker); PostgreSQL: `sprechzimmer serve --workers 2`."""
    database_url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    port = free_port()
    env = {"SPRECHZIMMER_DATA_DIR": str(tmp_path / "var"), "SPRECHZIMMER_ORIGINS": f"http://127.0.0.1:{port}",
           "CALL_HEARTBEAT_SECONDS": "1", "CALL_GRACE_SECONDS": "5", "SMTP_PORT": str(free_port())}
    if database_url:
        env |= {"DATABASE_URL": database_url, "KEYSTORE_URL": database_url, "SPRECHZIMMER_INSECURE_DEV": "1"}
    workers = 2 if database_url else None
    server = ServeProcess(port, env, workers, tmp_path / "serve.log")
    try:
        server.wait_ready(workers or 1)
        yield server, database_url
    finally:
        server.stop()


def practice_appointments(url: str, directory: Path, count: int) -> tuple[list[appointments.Appointment], str]:
    """The practice registers, logs in and plans `count` appointments starting now, each with its codes; also
    the admin's session, which the practitioner presents with its code."""
    client = Client(url, LocalStore(directory))
    try:
        register(client)
        session = client.login("PWinkler", "MartinW", PASSWORD).token
        now = datetime.now(UTC) - timedelta(minutes=5)
        planned = [appointments.add(client, now, 60, f"Patientin {i}") for i in range(count)]
        return [with_consent(client, p) for p in planned], session
    finally:
        client.close()


def workers_of(database_url: str) -> dict[str, str]:
    with psycopg.connect(database_url) as conn:
        return dict(conn.execute("SELECT peer_id, worker FROM call_member").fetchall())


async def test_call_through_sprechzimmer_serve(served: tuple[ServeProcess, str | None], tmp_path: Path) -> None:
    server, database_url = served
    # The client offers permessage-deflate; the server declines: a compressed message mixing attacker-chosen
    # text with a MAC or token is what compression side channels need.
    async with websockets.connect(server.url.replace("http", "ws", 1) + "/ws/v1/calls") as probe:
        assert probe.request is not None and probe.response is not None
        assert "permessage-deflate" in probe.request.headers["Sec-WebSocket-Extensions"]
        assert "Sec-WebSocket-Extensions" not in probe.response.headers
    (planned, other), session = practice_appointments(server.url, tmp_path / "praxis", 2)
    codes = planned.patient.codes

    if database_url:  # several workers: signalling pairs on different workers still reach each other
        other_codes = other.patient.codes
        patient = await Peer.join(server.url, other_codes["patient"])
        doctor = await Peer.join(server.url, other_codes["practitioner"], session=session)
        for _ in range(30):  # reconnect until the doctor lands on the other worker
            if workers_of(database_url)[doctor.peer_id] != workers_of(database_url)[patient.peer_id]:
                break
            await doctor.send({"type": "leave"})
            await doctor.close()
            doctor = await Peer.join(server.url, other_codes["practitioner"], session=session)
        placed = workers_of(database_url)
        assert placed[doctor.peer_id] != placed[patient.peer_id]
        await doctor.send({"type": "admit", "peer": patient.peer_id})
        await patient.expect("admitted")
        await patient.send({"type": "offer", "sdp": "v=0\r\n", "mac": "00"})
        assert (await doctor.expect("offer"))["from"] == patient.peer_id
        third = await asyncio.gather(*[_refused_join(server.url, other_codes["patient"]) for _ in range(4)])
        assert set(third) == {4409}  # the two-person limit holds across workers (enforced in PostgreSQL)
        for p in (patient, doctor):
            await p.close()

    events: list[tuple[str, str]] = []
    patient_call = Call(server.url, codes["patient"], on_event=lambda k, d: events.append(("patient", k)))
    doctor_call = Call(server.url, codes["practitioner"], codes["patient"], auto_admit=False, session_token=session,
                       on_event=lambda k, d: events.append(("practitioner", k)))
    try:
        await patient_call.start()
        assert patient_call.state == "waiting"
        await doctor_call.start()
        [waiting] = doctor_call.waiting
        assert waiting["peer_id"] == patient_call.welcome["peer_id"]
        await asyncio.sleep(0.5)
        assert patient_call.state == "waiting" and not patient_call.links  # nothing before admission
        await doctor_call.admit(waiting["peer_id"])

        await asyncio.gather(patient_call.wait_frames(10, timeout=30), doctor_call.wait_frames(10, timeout=30))
        for call in (patient_call, doctor_call):
            pair = call.selected_pair()
            assert pair is not None and set(pair) <= DIRECT, pair
            assert call.path() == "direct"

        # the server relays no media: none of its processes holds a UDP socket (this test process does)
        assert udp_socket_inodes(os.getpid())
        for pid in process_tree(server.proc.pid):
            assert udp_socket_inodes(pid) == set(), f"server process {pid} holds a UDP socket"

        # and the call keeps flowing without the server
        server.stop()
        before = (patient_call.frames_received(), doctor_call.frames_received())
        await asyncio.sleep(2.0)
        after = (patient_call.frames_received(), doctor_call.frames_received())
        for b, a in zip(before, after, strict=True):
            [peer] = a
            assert a[peer] >= b[peer] + 10, (b, a)
        assert patient_call.links and doctor_call.links and patient_call.error is None
    finally:
        await patient_call.close()
        await doctor_call.close()
    assert ("patient", "waiting") in events and ("patient", "admitted") in events


async def _refused_join(url: str, code: str) -> int | None:
    from tests.calls.support import token_hex

    async with websockets.connect(url.replace("http", "ws", 1) + "/ws/v1/calls") as ws:
        token = await asyncio.to_thread(token_hex, code)  # Argon2id (§8a.4) off the event loop
        await ws.send(json.dumps({"type": "join", "token": token}))
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        return ws.close_code


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    turn = Coturn(tmp_path / "coturn", free_port(), secrets.token_hex(16), 49160 + (os.getpid() % 40) * 40)
    try:
        turn.wait_ready()
        yield turn
    finally:
        turn.stop()


async def test_relay_only_call_through_coturn(server: LiveServer, grants: GrantBook, practice: Any,
                                              coturn: Coturn) -> None:
    container = server.container
    container.settings = replace(container.settings, turn_urls=(coturn.url,),
                                 turn_secret=coturn_secret(coturn), turn_ttl_seconds=600)
    appointment = grants.add(practice())
    patient = Call(server.url, appointment.patient_code, relay_only=True)
    doctor = Call(server.url, appointment.practitioner_code, appointment.patient_code, relay_only=True,
                  session_token=appointment.session)
    try:
        await patient.start()
        await doctor.start()
        await asyncio.gather(patient.wait_frames(5, timeout=40), doctor.wait_frames(5, timeout=40))
        assert patient.selected_pair() == ("relay", "relay") and patient.path() == "relayed"
        assert doctor.path() == "relayed"
    finally:
        await patient.close()
        await doctor.close()


def coturn_secret(turn: Coturn) -> str:
    config = (turn.log.parent / "turnserver.conf").read_text()
    match = re.search(r"^static-auth-secret=(.+)$", config, re.MULTILINE)
    assert match is not None
    return match.group(1)


class TamperingRelay:
    """A man in the middle on the practitioner's signalling socket that swaps the DTLS fingerprint of every
    offer — what a malicious signalling server would do to intercept the media."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.tampered = 0
        self.server: Any = None

    async def handle(self, client: Any) -> None:
        async with websockets.connect(self.upstream) as upstream:
            async def down() -> None:
                async for raw in upstream:
                    message = json.loads(raw)
                    if message.get("type") == "offer":
                        message["sdp"] = re.sub(r"(a=fingerprint:sha-256 )([0-9A-F]{2})",
                                                lambda m: m.group(1) + ("00" if m.group(2) != "00" else "11"),
                                                message["sdp"])
                        self.tampered += 1
                    await client.send(json.dumps(message))

            async def up() -> None:
                async for raw in client:
                    await upstream.send(raw)

            tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()


async def test_tampering_relay_refuses_the_call_with_a_visible_reason(server: LiveServer, grants: GrantBook,
                                                                       practice: Any) -> None:
    relay = TamperingRelay(server.url.replace("http", "ws", 1) + "/ws/v1/calls")
    proxy = await websockets.serve(relay.handle, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    appointment = grants.add(practice())
    shown: list[str] = []
    patient = Call(server.url, appointment.patient_code,
                   on_event=lambda k, d: shown.append(d.get("detail", "")) if k == "failed" else None)
    doctor = Call(server.url, appointment.practitioner_code, appointment.patient_code,
                  signalling_url=f"ws://127.0.0.1:{port}", session_token=appointment.session,
                  on_event=lambda k, d: shown.append(d.get("detail", "")) if k == "failed" else None)
    try:
        await patient.start()
        await doctor.start()
        with pytest.raises(SignallingTampered) as refused:
            await doctor.wait_connected(timeout=20)
        assert str(refused.value) == MSG_TAMPERED
        with pytest.raises(SignallingTampered) as told:
            await patient.wait_connected(timeout=20)
        assert str(told.value) == MSG_REMOTE_TAMPERED
        assert relay.tampered == 1 and MSG_TAMPERED in shown and MSG_REMOTE_TAMPERED in shown
        assert not doctor.links and not patient.links  # the forged description was never applied
        assert doctor.state == patient.state == "failed"
    finally:
        await patient.close()
        await doctor.close()
        proxy.close()


class CandidateStrippingRelay:
    """A relay in front of the server that removes every candidate from the descriptions in both directions,
    as a browser's description looks before gathering: the parties connect only through trickled `candidate`
    messages (§8a.8). The MACs cover fingerprints and ufrag, not candidates, so they still verify."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.stripped = 0
        self.trickled: list[dict[str, Any] | None] = []

    def _strip(self, raw: str | bytes) -> str | bytes:
        message = json.loads(raw)
        if message.get("type") in ("offer", "answer") and isinstance(message.get("sdp"), str):
            lines = message["sdp"].split("\r\n")
            kept = [x for x in lines if not x.startswith(("a=candidate:", "a=end-of-candidates"))]
            self.stripped += len(lines) - len(kept)
            message["sdp"] = "\r\n".join(kept)
            return json.dumps(message)
        if message.get("type") == "candidate":
            self.trickled.append(message.get("candidate"))
        return raw

    async def handle(self, client: Any) -> None:
        async with websockets.connect(self.upstream) as upstream:
            async def pipe(source: Any, sink: Any) -> None:
                async for raw in source:
                    await sink.send(self._strip(raw))

            tasks = [asyncio.create_task(pipe(upstream, client)), asyncio.create_task(pipe(client, upstream))]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()


async def test_trickled_candidates_alone_connect_the_call(server: LiveServer, grants: GrantBook,
                                                          practice: Any) -> None:
    relay = CandidateStrippingRelay(server.url.replace("http", "ws", 1) + "/ws/v1/calls")
    proxy = await websockets.serve(relay.handle, "127.0.0.1", 0)
    via = f"ws://127.0.0.1:{proxy.sockets[0].getsockname()[1]}"
    appointment = grants.add(practice())
    patient = Call(server.url, appointment.patient_code, signalling_url=via)
    doctor = Call(server.url, appointment.practitioner_code, appointment.patient_code, signalling_url=via,
                  session_token=appointment.session)
    try:
        await patient.start()
        await doctor.start()
        await asyncio.gather(patient.wait_frames(5, timeout=40), doctor.wait_frames(5, timeout=40))
        assert relay.stripped > 0 and patient.error is None and doctor.error is None
        ends = [c for c in relay.trickled if c is None]
        assert len(ends) == 4  # each side ended its candidates once; both pass the relay up and down
        found = [c for c in relay.trickled if c is not None]
        assert found and all(c["candidate"].startswith("candidate:") and "sdpMid" in c and "sdpMLineIndex" in c
                             and c["usernameFragment"] for c in found)
    finally:
        await patient.close()
        await doctor.close()
        proxy.close()


async def test_dropped_signalling_resumes_and_renegotiations_are_maced(server: LiveServer, grants: GrantBook,
                                                                        practice: Any) -> None:
    from aiortc.contrib.media import MediaPlayer

    from interfaces.client.call import TEST_PATTERN

    appointment = grants.add(practice())
    doctor_events: list[tuple[str, dict[str, Any]]] = []
    patient_events: list[tuple[str, dict[str, Any]]] = []
    patient = Call(server.url, appointment.patient_code, on_event=lambda k, d: patient_events.append((k, d)))
    doctor = Call(server.url, appointment.practitioner_code, appointment.patient_code,
                  session_token=appointment.session, on_event=lambda k, d: doctor_events.append((k, d)))
    screen = MediaPlayer(TEST_PATTERN, format="lavfi")
    try:
        await patient.start()
        await doctor.start()
        await asyncio.gather(patient.wait_frames(5, timeout=30), doctor.wait_frames(5, timeout=30))
        peer_before = patient.welcome["peer_id"]

        await patient.drop_connection()  # the network hiccups: signalling resumes in the same place
        await patient.wait_for(lambda: any(k == "resumed" for k, _ in patient_events), timeout=15)
        await doctor.wait_for(lambda: any(k == "peer-reconnected" for k, _ in doctor_events), timeout=15)
        assert patient.welcome["peer_id"] == peer_before and patient.welcome["state"] == "admitted"
        frames = patient.total_frames()
        await patient.wait_for(lambda: patient.total_frames() > frames + 5, timeout=10)  # media never stopped

        # a renegotiation goes through the relay with a MAC and is accepted by the other side
        [patient_peer] = doctor.links
        await doctor.renegotiate(patient_peer)
        await asyncio.sleep(1.0)
        assert doctor.error is None and patient.error is None and doctor.refusals == []
        # a screen share (a second video track) is refused in basis, with a message the client shows
        await doctor.renegotiate(patient_peer, add_track=screen.video)
        await doctor.wait_for(lambda: bool(doctor.refusals), timeout=10)
        assert doctor.refusals[0]["detail"] == "Die Bildschirmfreigabe ist nur im Tarif plus enthalten."
        assert ("refused", doctor.refusals[0]) in doctor_events
        frames = doctor.total_frames()
        await doctor.wait_for(lambda: doctor.total_frames() > frames + 5, timeout=10)  # the call goes on
    finally:
        if screen.video is not None:
            screen.video.stop()
        await patient.close()
        await doctor.close()


async def test_calls_resume_signalling_after_a_server_restart(call_settings: Settings, clock: Clock,
                                                            grants: GrantBook, tmp_path: Path) -> None:
    """The server restarts during a call: media keeps flowing peer-to-peer, and both clients come back into
    the same call with their resume tokens (same peer ids, still admitted, not in the waiting room);
    signalling works again afterwards (a MACed renegotiation goes through)."""
    from tests.calls.conftest import call_server

    settings = replace(call_settings, call_grace_seconds=60.0)  # a restart may take a while on a busy machine
    first = call_server(settings, clock, grants).__enter__()
    restarted: LiveServer | None = None
    client = Client(first.url, LocalStore(tmp_path / "praxis-restart"))
    org_id = uuid.UUID(str(register(client)["org_id"]))
    session = client.login("PWinkler", "MartinW", PASSWORD).token
    client.close()
    appointment = grants.add(org_id)
    appointment.session = session
    events: dict[str, list[str]] = {"patient": [], "doctor": []}
    patient = Call(first.url, appointment.patient_code, on_event=lambda k, d: events["patient"].append(k))
    doctor = Call(first.url, appointment.practitioner_code, appointment.patient_code, session_token=session,
                  on_event=lambda k, d: events["doctor"].append(k))
    try:
        await patient.start()
        await doctor.start()
        await asyncio.gather(patient.wait_frames(5, timeout=30), doctor.wait_frames(5, timeout=30))
        ids = (patient.welcome["peer_id"], doctor.welcome["peer_id"])

        await asyncio.to_thread(first.__exit__, None, None, None)  # the server goes away …
        await patient.wait_for(lambda: "reconnecting" in events["patient"], timeout=20)
        frames = patient.total_frames()
        await patient.wait_for(lambda: patient.total_frames() > frames + 5, timeout=20)  # … the media does not
        await asyncio.sleep(8)  # a restart that takes a while (clients used to give up after about 5 s)
        restarted = await asyncio.to_thread(call_server(settings, clock, grants).__enter__)  # and comes back

        for call, name in ((patient, "patient"), (doctor, "doctor")):
            await call.wait_for(lambda n=name: "resumed" in events[n], timeout=60)  # type: ignore[misc]
        assert (patient.welcome["peer_id"], doctor.welcome["peer_id"]) == ids
        assert patient.welcome["resumed"] is True and patient.welcome["state"] == "admitted"
        assert "waiting" not in events["patient"][events["patient"].index("reconnecting"):]
        assert patient.error is None and doctor.error is None

        [patient_peer] = doctor.links  # signalling works again: a renegotiation is relayed and accepted
        await doctor.renegotiate(patient_peer)
        frames = doctor.total_frames()
        await doctor.wait_for(lambda: doctor.total_frames() > frames + 5, timeout=20)
        assert doctor.error is None and patient.error is None and doctor.refusals == []
    finally:
        await patient.close()
        await doctor.close()
        if restarted is not None:
            await asyncio.to_thread(restarted.__exit__, None, None, None)
        await asyncio.to_thread(first.__exit__, None, None, None)

