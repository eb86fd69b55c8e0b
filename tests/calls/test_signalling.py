"""The signalling WebSocket through a real server on both backends: waiting room, admission, relaying,
room limits, refusals, plan rules, heartbeats and reconnects, ICE servers and the call log."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets

from interfaces.client import appointments
from interfaces.client.sdk import Client
from tests.calls.conftest import PLUS_BILLING
from tests.calls.support import Appointment, GrantBook, Peer, token_hex, with_consent
from tests.conftest import PASSWORD, Clock, LiveServer, register

SDP_ONE_VIDEO = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
SDP_SCREEN = SDP_ONE_VIDEO + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


async def admitted_pair(server: LiveServer, grants: GrantBook, org_id: uuid.UUID,
                        ) -> tuple[Appointment, Peer, Peer]:
    appointment = grants.add(org_id)
    doctor = await Peer.lead(server.url, appointment)
    patient = await Peer.join(server.url, appointment.patient_code)
    await doctor.send({"type": "admit", "peer": patient.peer_id})
    await patient.expect("admitted")
    await doctor.expect("peer-joined")
    return appointment, doctor, patient


async def refusal(server: LiveServer, message: dict[str, object]) -> tuple[dict[str, object], int | None]:
    """The error frame and close code a join is refused with."""
    ws = await websockets.connect(server.url.replace("http", "ws", 1) + "/ws/v1/calls")
    await ws.send(json.dumps(message))
    error = json.loads(await asyncio.wait_for(ws.recv(), 5))
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    return error, ws.close_code


async def test_patient_waits_until_admitted_and_signalling_is_relayed(server: LiveServer, grants: GrantBook,
                                                                      practice: Callable[..., uuid.UUID]) -> None:
    appointment = grants.add(practice())
    patient = await Peer.join(server.url, appointment.patient_code)
    assert patient.welcome["state"] == "waiting" and patient.welcome["peers"] == []
    assert patient.welcome["role"] == "patient" and "waiting" not in patient.welcome

    doctor = await Peer.lead(server.url, appointment)
    assert doctor.welcome["state"] == "admitted" and doctor.welcome["role"] == "practitioner"
    [waiting] = doctor.welcome["waiting"]  # who waits and since when
    assert waiting["peer_id"] == patient.peer_id and waiting["since"] > 0

    # a waiting patient cannot signal to the practitioner
    await patient.send({"type": "offer", "sdp": SDP_ONE_VIDEO, "mac": "00"})
    assert (await patient.expect("dropped"))["ref"] == "offer"
    assert await doctor.quiet("offer")

    await doctor.send({"type": "admit", "peer": patient.peer_id})
    admitted = await patient.expect("admitted")
    assert [p["peer_id"] for p in admitted["peers"]] == [doctor.peer_id]
    assert (await doctor.expect("peer-joined"))["peer_id"] == patient.peer_id
    assert (await doctor.expect("waiting-room"))["waiting"] == []

    await patient.send({"type": "offer", "sdp": SDP_ONE_VIDEO, "mac": "ab", "from": "someone-else", "x": 1})
    offer = await doctor.expect("offer")
    assert offer == {"type": "offer", "from": patient.peer_id, "role": "patient", "sdp": SDP_ONE_VIDEO,
                     "mac": "ab"}  # the server stamps the sender itself and passes only known fields
    await doctor.send({"type": "answer", "sdp": SDP_ONE_VIDEO, "mac": "cd"})
    assert (await patient.expect("answer"))["from"] == doctor.peer_id

    # send back into the waiting room: the doctor sees the patient leave the call and wait again
    await doctor.send({"type": "send-back", "peer": patient.peer_id})
    assert "Wartezimmer" in (await patient.expect("sent-back"))["reason"]
    assert (await doctor.expect("peer-left"))["reason"] == "sent-back"
    assert [w["peer_id"] for w in (await doctor.expect("waiting-room"))["waiting"]] == [patient.peer_id]
    await patient.close()
    await doctor.close()


async def test_third_party_refused_in_basis_and_outside_addresses_dropped(
        server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID]) -> None:
    org_id = practice()
    appointment, doctor, patient = await admitted_pair(server, grants, org_id)
    other_doctor = await Peer.lead(server.url, grants.add(org_id))  # another appointment

    # the same code used a second time while its holder is connected: one seat per code (§8a.6); the tokens
    # are derived (Argon2id, §8a.4) off the event loop, so the peers in the room keep their heartbeats
    patient_token = await asyncio.to_thread(token_hex, appointment.patient_code)
    practitioner_token = await asyncio.to_thread(token_hex, appointment.practitioner_code)
    error, code = await refusal(server, {"type": "join", "token": patient_token})
    assert code == 4409 and error["code"] == 4409
    assert error["detail"] == "Dieser Zugangscode wird bereits verwendet."
    error, code = await refusal(server, {"type": "join", "token": practitioner_token,
                                         "session": appointment.session})
    assert code == 4409 and error["detail"] == "Dieser Zugangscode wird bereits verwendet."

    # addressed to a peer of another room (or an invented one): dropped, never delivered
    for target in (other_doctor.peer_id, "0123456789abcdef"):
        await patient.send({"type": "offer", "to": target, "sdp": SDP_ONE_VIDEO, "mac": "00"})
        assert (await patient.expect("dropped"))["detail"] == "Der Empfänger ist nicht in diesem Raum."
    assert await other_doctor.quiet("offer") and await doctor.quiet("offer", 0.2)
    for p in (doctor, patient, other_doctor):
        await p.close()


async def test_wrong_expired_or_revoked_code_never_reaches_the_waiting_room(
        server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID]) -> None:
    from datetime import timedelta

    from sprechzimmer_protocol.codes import new_code

    org_id = practice()
    current = grants.add(org_id)
    expired = grants.add(org_id, starts=timedelta(hours=-3), length=timedelta(hours=1))
    revoked = grants.add(org_id)
    grants.revoke(revoked.patient_code)
    # derived (Argon2id, §8a.4) before the doctor is in the room: a blocked event loop misses heartbeats
    tokens = (token_hex(new_code()), token_hex(expired.patient_code), token_hex(revoked.patient_code))
    doctor = await Peer.lead(server.url, current)
    for token in (*tokens, "zz" * 32, "abc", None):
        error, code = await refusal(server, {"type": "join", "token": token})
        assert code == 4403 and error["detail"] == "Der Zugangscode ist ungültig oder abgelaufen."
    assert await doctor.quiet("waiting-room")  # nobody appeared in the waiting room
    error, code = await refusal(server, {"type": "offer", "sdp": "v=0"})  # no join first
    assert code == 4400
    with pytest.raises(websockets.InvalidStatus) as foreign:  # a page of another origin cannot even connect
        await websockets.connect(server.url.replace("http", "ws", 1) + "/ws/v1/calls", origin="https://evil.example")
    assert foreign.value.response.status_code == 403
    await doctor.close()


async def test_only_an_admin_session_leads_a_call(server: LiveServer, grants: GrantBook,
                                                  new_client: Callable[[str], Client],
                                                  practice: Callable[..., uuid.UUID]) -> None:
    """§8a.7: the practitioner code admits only with the session of an active admin of the same practice;
    a staff member who read the code from the appointment, or anyone without a session, is refused. The
    patient code needs no session."""
    from interfaces.client import users

    org_id = practice()
    client = new_client("praxis")
    session = client.login("PWinkler", "MartinW", PASSWORD)
    appointment = grants.add(org_id)
    code = token_hex(appointment.practitioner_code)

    error, close = await refusal(server, {"type": "join", "token": code})  # the code alone: no longer enough
    assert close == 4401 and "Behandler" in str(error["detail"])
    error, close = await refusal(server, {"type": "join", "token": code, "session": "not-a-session"})
    assert close == 4401
    users.add_user(client, "Praxishilfe", "staff", "Empfang#Praxis2024")  # she types her own password
    staff = client.login("PWinkler", "Praxishilfe", "Empfang#Praxis2024")
    assert staff.role == "staff"
    error, close = await refusal(server, {"type": "join", "token": code, "session": staff.token})
    assert close == 4403 and error["detail"] == "Mitarbeiterkonten können keine Sprechstunde leiten."
    ice = httpx.get(server.url + "/api/v1/calls/ice-servers",
                    headers={"X-Join-Token": code, "Authorization": f"Bearer {staff.token}"})
    assert ice.status_code == 403 and ice.json()["detail"] == "Mitarbeiterkonten können keine Sprechstunde leiten."
    assert httpx.get(server.url + "/api/v1/calls/ice-servers", headers={"X-Join-Token": code}).status_code == 401

    other_org = practice(name="AndereP")  # an admin of another practice
    other = new_client("AndereP").login("AndereP", "MartinW", PASSWORD)
    assert other.org_id == str(other_org)
    error, close = await refusal(server, {"type": "join", "token": code, "session": other.token})
    assert close == 4403 and error["detail"] == "Diese Anmeldung gehört nicht zur Praxis dieses Termins."

    patient = await Peer.join(server.url, appointment.patient_code)  # patients never need a session
    doctor = await Peer.join(server.url, appointment.practitioner_code, session=session.token)  # admin: leads
    assert doctor.welcome["role"] == "practitioner" and patient.welcome["state"] == "waiting"
    ice = httpx.get(server.url + "/api/v1/calls/ice-servers",
                    headers={"X-Join-Token": code, "Authorization": f"Bearer {session.token}"})
    assert ice.status_code == 200

    # a dropped practitioner resumes its seat with the resume token alone: the session (idle after 30 minutes
    # in a long consultation) was checked at the first join
    await doctor.ws.close()
    again = await Peer.join(server.url, appointment.practitioner_code, peer_id=doctor.peer_id,
                            resume_token=doctor.welcome["resume_token"])
    assert again.welcome["resumed"] is True and again.welcome["role"] == "practitioner"
    error, close = await refusal(server, {"type": "join", "token": code, "peer_id": again.peer_id,
                                          "resume_token": "guessed"})  # a guessed token takes no seat
    assert close == 4410
    for p in (again, patient):
        await p.close()


async def test_a_forwarded_code_cannot_join_a_running_consultation(
        server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID]) -> None:
    """§8a.6 on plus (four participants allowed): a 1:1 appointment has two seats, one per code. A second
    person with the patient's code is refused while the patient is connected; the patient's own reloaded page
    takes the seat back once the old connection dropped."""
    appointment, doctor, patient = await admitted_pair(server, grants, practice("plus", name="PlusPraxis"))
    assert doctor.welcome["max_participants"] == 4
    assert (await doctor.expect("waiting-room"))["waiting"] == []  # the admission's own update
    error, code = await refusal(server, {"type": "join", "token": token_hex(appointment.patient_code)})
    assert code == 4409 and error["detail"] == "Dieser Zugangscode wird bereits verwendet."
    assert await doctor.quiet("waiting-room", 0.3)  # nobody new in the waiting room, no media for anyone
    await doctor.send({"type": "offer", "sdp": SDP_ONE_VIDEO, "mac": "00"})
    assert (await patient.expect("offer"))["from"] == doctor.peer_id

    await patient.ws.close()  # the patient's browser crashes; the reloaded page has no resume token
    assert (await doctor.expect("peer-disconnected"))["peer_id"] == patient.peer_id
    reloaded = await Peer.join(server.url, appointment.patient_code)
    assert reloaded.welcome["state"] == "waiting" and reloaded.peer_id != patient.peer_id
    left = await doctor.expect("peer-left")
    assert left["peer_id"] == patient.peer_id and left["reason"] == "gone"
    waiting = await doctor.expect("waiting-room")
    assert [w["peer_id"] for w in waiting["waiting"]] == [reloaded.peer_id]
    # and the forwarded code is refused again now that the seat has its holder back
    _, code = await refusal(server, {"type": "join", "token": token_hex(appointment.patient_code)})
    assert code == 4409
    for p in (doctor, reloaded):
        await p.close()


async def test_early_arrival_waits_and_the_window_is_the_codes(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client]) -> None:
    """§8a.5: a patient 10 minutes early is let into the waiting room (socket and ICE servers, like the code
    check) and told when the appointment begins; re-joining works until 60 minutes after the end and not
    after; nothing works earlier than 30 minutes before the start."""
    client = new_client("praxis")
    register(client)
    client.login("PWinkler", "MartinW", PASSWORD)
    starts = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    planned = appointments.add(client, starts, 30, "Jörg Böhm")
    with_consent(client, planned)
    codes = planned.patient.codes

    def allowed() -> tuple[int, int]:
        ice = httpx.get(server.url + "/api/v1/calls/ice-servers", headers={"X-Join-Token": token_hex(codes["patient"])})
        check = httpx.post(server.url + "/api/v1/access-codes/check", headers={"Origin": server.url},
                           json={"join_token": token_hex(codes["patient"])})
        return ice.status_code, check.status_code

    assert allowed() == (200, 200)
    patient = await Peer.join(server.url, codes["patient"])
    assert patient.welcome["state"] == "waiting"
    assert datetime.fromisoformat(patient.welcome["starts_at"]) == starts
    assert datetime.fromisoformat(patient.welcome["ends_at"]) == starts + timedelta(minutes=30)
    doctor = await Peer.join(server.url, codes["practitioner"], session=client.session.token)  # type: ignore[union-attr]
    assert [w["peer_id"] for w in doctor.welcome["waiting"]] == [patient.peer_id]
    await patient.send({"type": "leave"})
    for p in (doctor, patient):
        await p.close()

    clock.set(starts + timedelta(minutes=30 + 59))  # 59 minutes after the end: still open
    assert allowed() == (200, 200)
    late = await Peer.join(server.url, codes["patient"])
    assert late.welcome["state"] == "waiting"
    await late.send({"type": "leave"})
    await late.close()

    for moment in (starts + timedelta(minutes=30 + 61), starts - timedelta(minutes=31)):
        clock.set(moment)
        assert allowed() == (403, 404)
        error, code = await refusal(server, {"type": "join", "token": token_hex(codes["patient"])})
        assert code == 4403 and error["detail"] == "Der Zugangscode ist ungültig oder abgelaufen."


async def test_hello_must_be_a_json_text_frame_and_tokens_never_come_from_the_query(
        server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID]) -> None:
    appointment = grants.add(practice())
    url = server.url.replace("http", "ws", 1) + "/ws/v1/calls"
    for frame in (b"\x00\x01binary", json.dumps({"type": "join"}).encode(), "not json", "[1, 2]"):
        ws = await websockets.connect(url)
        await ws.send(frame)
        error = json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4400 and error["code"] == 4400, frame
    # a token in the query string (it would land in access logs) is not read, even if it is valid
    ws = await websockets.connect(url + "?token=" + token_hex(appointment.patient_code))
    await ws.send(json.dumps({"type": "join"}))
    error = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert error["code"] == 4403
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)


async def test_screen_sharing_only_in_plus(server: LiveServer, grants: GrantBook,
                                           practice: Callable[..., uuid.UUID]) -> None:
    _, doctor, patient = await admitted_pair(server, grants, practice("basis"))
    assert doctor.welcome["screen_sharing"] is False
    await doctor.send({"type": "renegotiate", "sdp": SDP_SCREEN, "mac": "00"})
    refused = await doctor.expect("refused")
    assert refused["feature"] == "screen_sharing"
    assert refused["detail"] == "Die Bildschirmfreigabe ist nur im Tarif plus enthalten."
    assert await patient.quiet("renegotiate")
    await doctor.send({"type": "renegotiate", "sdp": SDP_ONE_VIDEO, "mac": "00"})  # an ordinary renegotiation
    assert (await patient.expect("renegotiate"))["sdp"] == SDP_ONE_VIDEO

    _, doctor2, patient2 = await admitted_pair(server, grants, practice("plus", name="PlusPraxis"))
    big = SDP_SCREEN + "a=x-padding:" + "x" * 12000 + "\r\n"  # over NOTIFY's 8000 bytes: side table
    await doctor2.send({"type": "renegotiate", "sdp": big, "mac": "00"})
    assert (await patient2.expect("renegotiate"))["sdp"] == big
    for p in (doctor, patient, doctor2, patient2):
        await p.close()


async def test_conference_of_four_in_plus_is_a_mesh(server: LiveServer,
                                                    new_client: Callable[[str], Client]) -> None:
    """A real conference planned through the SDK by a plus practice: the practitioner and three participants,
    each with their own code, meet in one room; a fifth party is refused; each pair signals on its own."""
    client = new_client("praxis")
    register(client, plan="plus", billing=PLUS_BILLING)
    client.login("PWinkler", "MartinW", PASSWORD)
    planned = appointments.add(client, datetime.now(UTC) - timedelta(minutes=5), 60, "Jörg Böhm", participants=3)
    with_consent(client, planned)
    codes = planned.patient.codes
    assert planned.patient.participants == ["patient", "patient-2", "patient-3"] and planned.patient.call_code
    doctor = await Peer.join(server.url, codes["practitioner"], session=client.session.token)  # type: ignore[union-attr]
    assert doctor.welcome["conference"] is True and doctor.welcome["max_participants"] == 4
    assert doctor.welcome["appointment_id"] == planned.appointment_id
    patients: list[Peer] = []
    for slot in planned.patient.participants:
        p = await Peer.join(server.url, codes[slot])
        assert p.welcome["role"] == "patient" and p.welcome["appointment_id"] == planned.appointment_id
        assert p.welcome["state"] == "waiting"
        await doctor.send({"type": "admit", "peer": p.peer_id})
        admitted = await p.expect("admitted")
        assert {x["peer_id"] for x in admitted["peers"]} == {doctor.peer_id, *[q.peer_id for q in patients]}
        patients.append(p)
    # a fifth party (a participant's code on a second device) finds that code's seat taken
    error, code = await refusal(server, {"type": "join", "token": token_hex(codes["patient-2"])})
    assert code == 4409 and error["detail"] == "Dieser Zugangscode wird bereits verwendet."
    # the call code is no access code: it never reaches the waiting room
    call_code_token = await asyncio.to_thread(token_hex, planned.patient.call_code)  # Argon2id off the loop
    error, code = await refusal(server, {"type": "join", "token": call_code_token})
    assert code == 4403 and error["detail"] == "Der Zugangscode ist ungültig oder abgelaufen."
    # each pair signals on its own: a message to one peer reaches only that peer
    a, b, c = patients
    await a.send({"type": "offer", "to": c.peer_id, "sdp": SDP_ONE_VIDEO, "mac": "00"})
    assert (await c.expect("offer"))["from"] == a.peer_id
    assert await b.quiet("offer", 0.3) and await doctor.quiet("offer", 0.1)
    for p in (doctor, *patients):
        await p.close()


async def test_oversized_message_closes_the_socket(server: LiveServer, grants: GrantBook,
                                                   practice: Callable[..., uuid.UUID]) -> None:
    _, doctor, patient = await admitted_pair(server, grants, practice())
    await patient.send({"type": "offer", "sdp": "x" * (70 * 1024), "mac": "00"})
    error = await patient.expect("error")
    assert error["code"] == 4413 and error["detail"] == "Die Nachricht ist zu groß (höchstens 64 KiB)."
    assert await doctor.quiet("offer", 0.3)
    await doctor.close()


async def test_dead_peer_detected_resume_keeps_place_and_gone_is_reported(
        server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID]) -> None:
    appointment, doctor, patient = await admitted_pair(server, grants, practice())
    heartbeat = doctor.welcome["heartbeat_seconds"]
    # the patient stops sending heartbeats: the server notices within three intervals
    keepalive = asyncio.create_task(_heartbeat(doctor, heartbeat))
    assert (await doctor.expect("peer-disconnected", timeout=heartbeat * 6))["peer_id"] == patient.peer_id

    # it comes back within the grace period with its resume token: same peer, still admitted
    again = await Peer.join(server.url, appointment.patient_code, peer_id=patient.peer_id,
                            resume_token=patient.welcome["resume_token"])
    assert again.welcome["peer_id"] == patient.peer_id and again.welcome["state"] == "admitted"
    assert again.welcome["resumed"] is True
    assert (await doctor.expect("peer-reconnected"))["peer_id"] == patient.peer_id
    await again.send({"type": "offer", "sdp": SDP_ONE_VIDEO, "mac": "00", "ice_restart": True})
    assert (await doctor.expect("offer"))["ice_restart"] is True  # ICE restarts are relayed as they are

    # a wrong resume token does not take over the place
    _, code = await refusal(server, {"type": "join", "token": token_hex(appointment.patient_code),
                                     "peer_id": patient.peer_id, "resume_token": "guess"})
    assert code == 4410

    # dropped again and not back within the grace period: reported as gone, the place is free
    await again.ws.close()  # a closing handshake without "leave" counts as a drop, too
    await doctor.expect("peer-disconnected")
    left = await doctor.expect("peer-left", timeout=6)
    assert left == {"type": "peer-left", "peer_id": patient.peer_id, "role": "patient", "reason": "gone"}
    keepalive.cancel()
    newcomer = await Peer.join(server.url, appointment.patient_code)
    assert newcomer.welcome["state"] == "waiting"
    await newcomer.close()
    await doctor.close()


async def test_waiting_place_survives_a_reconnect(server: LiveServer, grants: GrantBook,
                                                  practice: Callable[..., uuid.UUID]) -> None:
    appointment = grants.add(practice())
    first = await Peer.join(server.url, appointment.patient_code)
    await first.ws.close()
    again = await Peer.join(server.url, appointment.patient_code, peer_id=first.peer_id,
                            resume_token=first.welcome["resume_token"])
    doctor = await Peer.lead(server.url, appointment)
    [waiting] = doctor.welcome["waiting"]
    assert again.welcome["state"] == "waiting" and again.welcome["since"] == first.welcome["since"]
    assert waiting["peer_id"] == first.peer_id and waiting["since"] == first.welcome["since"]
    await again.send({"type": "leave"})
    assert (await doctor.expect("waiting-room"))["waiting"] == []
    await doctor.close()


async def _heartbeat(peer: Peer, interval: float) -> None:
    while True:
        await peer.send({"type": "ping"})
        await asyncio.sleep(interval)


async def test_ice_servers_with_turn_rest_credentials(server: LiveServer, grants: GrantBook,
                                                      practice: Callable[..., uuid.UUID],
                                                      new_client: Callable[[str], Client]) -> None:
    import base64
    import hashlib
    import hmac
    import time
    from dataclasses import replace

    container = server.container
    container.settings = replace(container.settings, turn_urls=("turn:127.0.0.1:3478?transport=udp",),
                                 turn_secret="geheim", turn_ttl_seconds=600)
    appointment = grants.add(practice())
    answer = httpx.get(server.url + "/api/v1/calls/ice-servers",
                       headers={"X-Join-Token": token_hex(appointment.patient_code)})
    assert answer.status_code == 200
    stun, turn = answer.json()["ice_servers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]}
    expiry, _, label = turn["username"].partition(":")
    assert 590 <= int(expiry) - time.time() <= 601 and label
    assert turn["credential"] == base64.b64encode(
        hmac.new(b"geheim", turn["username"].encode(), hashlib.sha1).digest()).decode()

    refused = httpx.get(server.url + "/api/v1/calls/ice-servers", headers={"X-Join-Token": "00" * 32})
    assert refused.status_code == 403 and refused.json()["detail"] == "Der Zugangscode ist ungültig oder abgelaufen."
    assert httpx.get(server.url + "/api/v1/calls/ice-servers").status_code == 401
    client = new_client("praxis")
    client.login("PWinkler", "MartinW", PASSWORD)
    assert len(client.request("GET", "/api/v1/calls/ice-servers", auth=True)["ice_servers"]) == 2


async def test_call_log_visible_only_to_the_own_practice_and_pruned(
        server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID],
        new_client: Callable[[str], Client]) -> None:
    from datetime import UTC, datetime, timedelta

    org_id = practice()
    appointment, doctor, patient = await admitted_pair(server, grants, org_id)
    await patient.send({"type": "leave"})
    await doctor.expect("peer-left")
    await doctor.send({"type": "leave"})
    with pytest.raises(websockets.ConnectionClosed):
        await doctor.recv()

    own = new_client("praxis")
    own.login("PWinkler", "MartinW", PASSWORD)
    path = f"/api/v1/calls/log?appointment_id={appointment.appointment_id}"
    entries = own.request("GET", path, auth=True)["entries"]
    assert [(e["role"], e["event"]) for e in entries] == [
        ("practitioner", "joined"), ("patient", "joined"), ("patient", "admitted"), ("patient", "left"),
        ("practitioner", "left")]
    assert {e["ip"] for e in entries} == {"127.0.0.1"}
    with server.container.state_db.transaction() as cur:  # at rest sealed under the read-model key (§8a.9)
        stored = [str(r[0]) for r in cur.execute("SELECT ip FROM call_log").fetchall()]
    assert stored and not any("127.0.0.1" in ip for ip in stored)

    practice(name="AndereP")
    other = new_client("AndereP")
    other.login("AndereP", "MartinW", PASSWORD)
    assert other.request("GET", path, auth=True)["entries"] == []  # another practice sees nothing
    assert httpx.get(server.url + path).status_code == 401

    log = server.container.calls.call_log  # type: ignore[union-attr]
    assert log.prune_before(datetime.now(UTC) - timedelta(days=90)) == 0
    assert log.prune_before(datetime.now(UTC) + timedelta(seconds=1)) == 5
    assert own.request("GET", path, auth=True)["entries"] == []
