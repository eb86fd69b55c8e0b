"""The signalling WebSocket through a real server on both backends: waiting room, admission, relaying,
room limits, refusals, plan rules, heartbeats and reconnects, ICE servers and the call log."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import httpx
import pytest
import websockets

from interfaces.client.sdk import Client
from tests.calls.support import Appointment, GrantBook, Peer, token_hex
from tests.conftest import PASSWORD, LiveServer

SDP_ONE_VIDEO = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
SDP_SCREEN = SDP_ONE_VIDEO + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


async def admitted_pair(server: LiveServer, grants: GrantBook, org_id: uuid.UUID,
                        ) -> tuple[Appointment, Peer, Peer]:
    appointment = grants.add(org_id)
    doctor = await Peer.join(server.url, appointment.practitioner_code)
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

    doctor = await Peer.join(server.url, appointment.practitioner_code)
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
    other_doctor = await Peer.join(server.url, grants.add(org_id).practitioner_code)  # another appointment

    # the same patient code used a second time is a third party in a two-person room
    error, code = await refusal(server, {"type": "join", "token": token_hex(appointment.patient_code)})
    assert code == 4409 and error["code"] == 4409
    assert error["detail"] == "Der Raum ist voll: Ihr Tarif erlaubt höchstens 2 Teilnehmende."
    error, code = await refusal(server, {"type": "join", "token": token_hex(appointment.practitioner_code)})
    assert code == 4409

    # addressed to a peer of another room (or an invented one): dropped, never delivered
    for target in (other_doctor.peer_id, "0123456789abcdef"):
        await patient.send({"type": "offer", "to": target, "sdp": SDP_ONE_VIDEO, "mac": "00"})
        assert (await patient.expect("dropped"))["detail"] == "Der Empfänger ist nicht in diesem Raum."
    assert await other_doctor.quiet("offer") and await doctor.quiet("offer", 0.2)
    for p in (doctor, patient, other_doctor):
        await p.close()
