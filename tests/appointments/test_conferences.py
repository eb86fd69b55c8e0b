"""Conferences (issue 6, design/crypto.md §4.10a): in plan plus an appointment carries up to three patient
codes, each its own access-code tag resolving to the role "patient", and a shared call code that lives only
in the end-to-end encrypted record and the invitations. Basis practices get a 403 for extra codes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from application.appointments import resolve_join_token
from infrastructure.crypto import access_code_tag
from interfaces.client import appointments as ap
from interfaces.client.sdk import CODE_SECRETS, ApiError, Client
from sprechzimmer_protocol.codes import new_code, normalise_code
from tests.conftest import Clock, LiveServer

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PATIENT_SLOTS = ["patient", "patient-2", "patient-3"]
MSG_PLAN = "Konferenzen mit mehr als zwei Teilnehmern sind nur im Tarif plus enthalten."


def _refused(client: Client, code: str) -> None:
    response = client.http.post("/api/v1/access-codes/check", json={"join_token": CODE_SECRETS.join_token(code).hex()})
    assert response.status_code == 404 and response.json()["detail"] == "Zugangscode unbekannt.", response.text


def _schedule(client: Client, codes: dict[str, str]) -> tuple[str, int, dict[str, object]]:
    """A raw POST with the given codes' join tokens (and a real sealed record), as a client would send it."""
    assert client.session is not None
    appointment_id = str(uuid.uuid4())
    record = ap.seal_record(client.session.keyring, appointment_id, ap.PatientRecord(name="Jörg Böhm", codes=codes))
    response = client.http.post("/api/v1/appointments", headers={"Authorization": f"Bearer {client.session.token}"},
                                json={"appointment_id": appointment_id, "starts_at": START.isoformat(),
                                      "duration_minutes": 30, "record": record,
                                      "join_tokens": ap.join_tokens(codes)})
    return appointment_id, response.status_code, response.json()


def test_plus_conference_has_a_code_per_participant_and_a_call_code_the_server_never_sees(
        server: LiveServer, practice: Callable[..., Client], clock: Clock) -> None:
    clock.set(START - timedelta(minutes=20))
    client = practice("plus")
    planned = ap.add(client, START, 45, "Jörg Böhm", email="joerg.boehm@example.org", participants=3)
    codes, call_code = planned.patient.codes, planned.patient.call_code
    assert sorted(codes) == sorted(["practitioner", *PATIENT_SLOTS]) and planned.patient.participants == PATIENT_SLOTS
    assert call_code is not None and len(set(codes.values()) | {call_code}) == 5
    assert normalise_code(call_code) and planned.patient.key_code == call_code

    # every participant's code checks as a patient of this appointment, the practitioner's as practitioner
    for slot in PATIENT_SLOTS:
        checked = ap.check_code(client, codes[slot])
        assert checked["role"] == "patient" and checked["appointment_id"] == planned.appointment_id
    assert ap.check_code(client, codes["practitioner"])["role"] == "practitioner"

    # the call code is no access code, and nothing the server keeps is derived from it
    _refused(client, call_code)
    services = server.container.services
    assert resolve_join_token(services, CODE_SECRETS.join_token(call_code)) is None
    stored = services.events.get(uuid.UUID(planned.appointment_id))
    assert stored is not None
    server_side = json.dumps({"tags": stored.code_tags, "record": stored.record})
    token = CODE_SECRETS.join_token(call_code)
    for secret in (call_code, normalise_code(call_code), token.hex(),
                   access_code_tag(token, services.pepper_code).hex()):
        assert secret not in server_side
    assert len(stored.code_tags) == 4  # one keyed tag per join code

    # each invitation carries the participant's own code and the shared call code, and no other code
    reopened = ap.show(client, planned.appointment_id)
    assert reopened.patient.call_code == call_code and reopened.patient.codes == codes
    for slot in PATIENT_SLOTS:
        invitation = ap.invitation(client, reopened, "Praxis Winkler", participant=slot,
                                   name=None if slot == "patient" else f"Gast {slot}")
        assert codes[slot] in invitation.body and call_code in invitation.body
        assert "Konferenzcode" in invitation.body and "Konferenz mit 3 Teilnehmenden" in invitation.body
        others = [codes[s] for s in codes if s != slot]
        assert not any(other in invitation.body for other in others)
        ics = invitation.ics.decode().replace("\r\n ", "")  # unfold the iCalendar lines
        assert codes[slot].replace("-", "") in ics.replace("-", "") and call_code in ics
    first = ap.invitation(client, reopened, "Praxis Winkler")
    assert first.body.startswith("Guten Tag Jörg Böhm,") and "joerg.boehm@example.org" in first.mailto
    with pytest.raises(ApiError) as err:
        ap.invitation(client, ap.add(client, START, 30, "Erika Mustermann"), participant="patient-2")
    assert err.value.status == 400
    with pytest.raises(ApiError) as err:  # an SMS would carry the call code through the server
        ap.send_sms_invitation(client, planned.appointment_id, phone="+49 151 23456789")
    assert err.value.status == 400 and "Konferenzcode" in err.value.detail

    # re-issue: all old codes stop working at once; the new set has as many participants and a new call code
    reissued = ap.reissue_codes(client, planned.appointment_id)
    new = reissued.patient.codes
    assert sorted(new) == sorted(codes) and set(new.values()).isdisjoint(codes.values())
    assert reissued.patient.call_code not in (None, call_code)
    for code in codes.values():
        _refused(client, code)
    for slot in PATIENT_SLOTS:
        assert ap.check_code(client, new[slot])["role"] == "patient"

    # cancel: every code of the conference stops working
    ap.cancel(client, planned.appointment_id)
    for code in new.values():
        _refused(client, code)


def test_basis_gets_403_for_extra_codes_and_keeps_one_to_one(server: LiveServer, practice: Callable[..., Client],
                                                             clock: Clock) -> None:
    clock.set(START - timedelta(minutes=20))
    client = practice()
    with pytest.raises(ApiError) as err:
        ap.add(client, START, 30, "Jörg Böhm", participants=2)
    assert err.value.status == 403 and err.value.detail == MSG_PLAN

    # nothing was half written: a raw request with the same kind of codes is refused, and none of them works
    codes = ap.new_codes(3)
    appointment_id, status, problem = _schedule(client, codes)
    assert status == 403 and problem["detail"] == MSG_PLAN
    for code in codes.values():
        _refused(client, code)
    with pytest.raises(ApiError) as err:
        ap.show(client, appointment_id)
    assert err.value.status == 404

    # 1:1 as before: no call code, k_call from the patient code, re-issue stays two codes
    single = ap.add(client, START, 30, "Erika Mustermann")
    assert single.patient.call_code is None and single.patient.key_code == single.patient.codes["patient"]
    assert "Konferenzcode" not in ap.invitation(client, single).body
    reissued = ap.reissue_codes(client, single.appointment_id)
    assert sorted(reissued.patient.codes) == ["patient", "practitioner"] and reissued.patient.call_code is None
    # a basis appointment cannot grow into a conference by re-issuing codes either
    assert client.session is not None
    grown = ap.new_codes(2)
    response = client.http.post(f"/api/v1/appointments/{single.appointment_id}/codes",
                                headers={"Authorization": f"Bearer {client.session.token}"},
                                json={"record": ap.seal_record(client.session.keyring, single.appointment_id,
                                                               ap.PatientRecord(name="x", codes=grown)),
                                      "join_tokens": ap.join_tokens(grown)})
    assert response.status_code == 403 and response.json()["detail"] == MSG_PLAN
    assert ap.check_code(client, reissued.patient.codes["patient"])["role"] == "patient"


def test_participant_codes_must_be_in_order_distinct_and_within_the_plan(
        server: LiveServer, practice: Callable[..., Client], clock: Clock) -> None:
    clock.set(START - timedelta(minutes=20))
    client = practice("plus")
    codes = ap.new_codes(3)
    gap = {k: v for k, v in codes.items() if k != "patient-2"}
    _, status, problem = _schedule(client, gap)
    assert status == 400 and "der Reihe nach" in str(problem["detail"])
    _, status, problem = _schedule(client, {**codes, "patient-3": codes["patient"]})
    assert status == 400 and "verschieden" in str(problem["detail"])
    _, status, problem = _schedule(client, {**codes, "patient-4": new_code()})
    assert status == 400  # no fifth party: the plan allows four participants, practitioner included
    with pytest.raises(ApiError) as err:
        ap.add(client, START, 30, "Jörg Böhm", participants=4)
    assert err.value.status == 400 and "1 bis 3" in err.value.detail
    for code in codes.values():
        _refused(client, code)
