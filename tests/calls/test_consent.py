"""Consent before the call (issue 15, item 5; SPEC §3, Art. 9 DSGVO): no patient enters the waiting room
before the Einwilligung is recorded — by the practice or by the patient on the patient page with the code —
and the consent event records how and when."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from application.call_admission import CLOSE_CONSENT, MSG_CONSENT
from domain.appointment import PATIENT_PAGE
from interfaces.client import appointments
from interfaces.client.sdk import Client
from tests.calls.support import GrantBook, Peer, token_hex
from tests.calls.test_signalling import refusal
from tests.conftest import PASSWORD, Clock, LiveServer, register


async def test_no_waiting_room_without_consent(server: LiveServer, grants: GrantBook,
                                               practice: Callable[..., uuid.UUID]) -> None:
    appointment = grants.add(practice(), consented=False)
    doctor = await Peer.lead(server.url, appointment)  # the practitioner is not held up
    error, code = await refusal(server, {"type": "join", "token": token_hex(appointment.patient_code)})
    assert code == CLOSE_CONSENT and error["detail"] == MSG_CONSENT
    assert "Einwilligung" in MSG_CONSENT
    assert await doctor.quiet("waiting-room")  # nobody appeared
    await doctor.close()


async def test_consent_on_the_patient_page_or_by_the_practice_opens_the_waiting_room(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client]) -> None:
    client = new_client("praxis")
    register(client)
    client.login("PWinkler", "MartinW", PASSWORD)
    starts = datetime.now(UTC) - timedelta(minutes=5)
    planned = appointments.add(client, starts, 60, "Jörg Böhm")
    other = appointments.add(client, starts, 60, "Erika Mustermann")
    patient_token = token_hex(planned.patient.codes["patient"])

    check = httpx.post(server.url + "/api/v1/access-codes/check", json={"join_token": patient_token}).json()
    assert check["consented"] is False  # the patient page asks for it
    error, code = await refusal(server, {"type": "join", "token": patient_token})
    assert code == CLOSE_CONSENT and error["detail"] == MSG_CONSENT

    # The practitioner's code cannot consent for the patient.
    refused = httpx.post(server.url + "/api/v1/access-codes/consent",
                         json={"join_token": token_hex(planned.patient.codes["practitioner"])})
    assert refused.status_code == 403 and "Patientin oder der Patient" in refused.json()["detail"]
    unknown = httpx.post(server.url + "/api/v1/access-codes/consent", json={"join_token": "ab" * 32})
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Zugangscode unbekannt."

    given = httpx.post(server.url + "/api/v1/access-codes/consent", json={"join_token": patient_token})
    assert given.status_code == 200 and given.json()["consented"] is True
    recorded = appointments.show(client, planned.appointment_id).consent
    assert recorded is not None and recorded["method"] == PATIENT_PAGE
    assert abs(datetime.fromisoformat(recorded["given_at"]) - clock()) < timedelta(minutes=1)  # when: now
    again = httpx.post(server.url + "/api/v1/access-codes/consent", json={"join_token": patient_token})
    assert again.status_code == 200 and appointments.show(client, planned.appointment_id).consent == recorded

    patient = await Peer.join(server.url, planned.patient.codes["patient"])
    assert patient.welcome["state"] == "waiting"
    await patient.close()

    # Recorded by the practice (e.g. on paper before the appointment): the same effect.
    appointments.record_consent(client, other.appointment_id, "schriftlich")
    second = await Peer.join(server.url, other.patient.codes["patient"])
    assert second.welcome["state"] == "waiting"
    await second.close()
