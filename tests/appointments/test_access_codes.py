"""Access codes (design/crypto.md §4.10a): valid only inside their window and only for their role,
revoked at once by cancellation and re-issue, one answer for every failure, guesses throttled per IP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from application.appointments import resolve_join_token
from interfaces.client import appointments as ap
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import CODE_SECRETS, ApiError, Client
from sprechzimmer_protocol.calls import join_secret, join_token_from_secret
from sprechzimmer_protocol.codes import encode_code, normalise_code
from sprechzimmer_protocol.primitives import h
from tests.conftest import PASSWORD, Clock, LiveServer, register

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def _unknown(client: Client, code: str) -> dict[str, object]:
    """The full problem answer for a refused code, to compare answers byte for byte."""
    response = client.http.post("/api/v1/access-codes/check", json={"join_token": CODE_SECRETS.join_token(code).hex()})
    assert response.status_code == 404, response.text
    body: dict[str, object] = response.json()
    assert body["detail"] == "Zugangscode unbekannt."
    return body


def test_code_works_only_inside_its_window_and_for_its_role(server: LiveServer, practice: Callable[..., Client],
                                                            clock: Clock) -> None:
    clock.set(START - timedelta(days=2))
    client = practice()
    appointment = ap.add(client, START, 30, "Jörg Böhm", phone="+49 151 23456789")
    codes = appointment.patient.codes
    reference = _unknown(client, codes["patient"])  # two days early: not yet valid

    clock.set(START - timedelta(minutes=31))
    assert _unknown(client, codes["patient"]) == reference
    clock.set(START - timedelta(minutes=29))
    patient = ap.check_code(client, codes["patient"])
    practitioner = ap.check_code(client, codes["practitioner"])
    assert patient["role"] == "patient" and practitioner["role"] == "practitioner"
    assert patient["appointment_id"] == appointment.appointment_id
    assert datetime.fromisoformat(patient["starts_at"]) == START
    assert datetime.fromisoformat(patient["ends_at"]) == START + timedelta(minutes=30)

    # Forgiving input: lower case, spaces instead of hyphens, O for 0 and I/L for 1.
    sloppy = codes["patient"].lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert ap.check_code(client, sloppy)["role"] == "patient"

    # The same function serves the signalling server: the patient's token never yields the practitioner role.
    services = server.container.services
    grant = resolve_join_token(services, CODE_SECRETS.join_token(codes["patient"]))
    assert grant is not None and grant.role == "patient" and str(grant.appointment_id) == appointment.appointment_id
    stored = services.events.get(grant.appointment_id)
    assert stored is not None and grant.org_id == stored.org_id
    practitioner_grant = resolve_join_token(services, CODE_SECRETS.join_token(codes["practitioner"]))
    assert practitioner_grant is not None and practitioner_grant.role == "practitioner"

    clock.set(START + timedelta(minutes=30 + 59))
    assert ap.check_code(client, codes["patient"])["role"] == "patient"
    clock.set(START + timedelta(minutes=30 + 61))
    assert _unknown(client, codes["patient"]) == reference
    assert _unknown(client, codes["practitioner"]) == reference
    assert resolve_join_token(services, CODE_SECRETS.join_token(codes["patient"])) is None


def test_the_check_names_the_practice_as_registered(server: LiveServer, new_client: Callable[[str], Client],
                                                    clock: Clock) -> None:
    """The patient page shows who invites: the organisation's registered name, umlauts intact, for either code
    and again in the consent answer; each code names its own practice."""
    practices = {}
    for short, name, email in (("PWinkler", "Hausarztpraxis Dr. Jürgen Weiß & Söhne", "m.winkler@mail.de"),
                               ("POezdemir", "Praxis Özdemir", "praxis@oezdemir.example")):
        client = new_client(short)
        register(client, organisation__name=name, credentials__org_short=short, main_user__email=email)
        client.login(short, "MartinW", PASSWORD)
        practices[name] = ap.add(client, START, 30, "Erika Mustermann").patient.codes
    clock.set(START - timedelta(minutes=10))
    for name, codes in practices.items():
        assert ap.check_code(client, codes["patient"])["practice"] == name
        assert ap.check_code(client, codes["practitioner"])["practice"] == name
    token = CODE_SECRETS.join_token(practices["Praxis Özdemir"]["patient"]).hex()
    consented = client.http.post("/api/v1/access-codes/consent", json={"join_token": token})
    assert consented.status_code == 200 and consented.json()["practice"] == "Praxis Özdemir"


def test_rescheduling_moves_the_window(server: LiveServer, practice: Callable[..., Client], clock: Clock) -> None:
    clock.set(START - timedelta(days=2))
    client = practice()
    appointment = ap.add(client, START, 30, "Erika Mustermann")
    moved = ap.reschedule(client, appointment.appointment_id, START + timedelta(hours=3), 45)
    assert moved.starts_at == START + timedelta(hours=3) and moved.duration_minutes == 45
    clock.set(START)
    _unknown(client, appointment.patient.codes["patient"])
    clock.set(START + timedelta(hours=3, minutes=45 + 30))
    assert ap.check_code(client, appointment.patient.codes["patient"])["role"] == "patient"


def test_cancelled_and_reissued_codes_stop_working_at_once(server: LiveServer, practice: Callable[..., Client],
                                                           clock: Clock) -> None:
    clock.set(START)
    client = practice()
    appointment = ap.add(client, START + timedelta(minutes=10), 30, "Jörg Böhm")
    old = appointment.patient.codes
    assert ap.check_code(client, old["patient"])["role"] == "patient"

    reissued = ap.reissue_codes(client, appointment.appointment_id)
    new = reissued.patient.codes
    assert set(new.values()).isdisjoint(old.values())
    assert reissued.patient.name == "Jörg Böhm"  # the rest of the record survives, re-encrypted
    reference = _unknown(client, old["patient"])
    assert _unknown(client, old["practitioner"]) == reference
    assert ap.check_code(client, new["patient"])["role"] == "patient"
    assert ap.check_code(client, new["practitioner"])["role"] == "practitioner"

    cancelled = ap.cancel(client, appointment.appointment_id)
    assert cancelled.status == "cancelled"
    assert _unknown(client, new["patient"]) == reference
    assert _unknown(client, new["practitioner"]) == reference
    assert _unknown(client, "ZZZZ-ZZZZ-ZZZZ") == reference  # never issued: the same answer
    with pytest.raises(ApiError) as err:
        ap.reissue_codes(client, appointment.appointment_id)
    assert err.value.status == 409


def test_guesses_are_throttled_per_ip(server: LiveServer, practice: Callable[..., Client], clock: Clock,
                                      tmp_path: Path) -> None:
    clock.set(START)
    client = practice()
    appointment = ap.add(client, START + timedelta(minutes=15), 30, "Jörg Böhm")
    guesser = Client(server.url, LocalStore(tmp_path / "guesser"))
    for i in range(20):
        with pytest.raises(ApiError) as err:
            ap.check_code(guesser, encode_code(i.to_bytes(8, "big")))
        assert err.value.status == 404
    with pytest.raises(ApiError) as err:
        ap.check_code(guesser, encode_code(b"\x01" * 8))
    assert err.value.status == 429 and err.value.retry_after and err.value.retry_after > 0
    with pytest.raises(ApiError) as err:  # from the throttled IP even a right code gets no answer
        ap.check_code(guesser, appointment.patient.codes["patient"])
    assert err.value.status == 429

    other_ip = Client(server.url, LocalStore(tmp_path / "patient"),
                      transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    try:
        assert ap.check_code(other_ip, appointment.patient.codes["patient"])["role"] == "patient"
    finally:
        other_ip.close()
        guesser.close()

    clock.advance(minutes=16)  # the window has passed: the first IP may try again
    assert ap.check_code(client, appointment.patient.codes["practitioner"])["role"] == "practitioner"


def test_malformed_tokens_and_codes_are_refused_without_a_500(server: LiveServer,
                                                              practice: Callable[..., Client]) -> None:
    client = practice()
    assert client.http.post("/api/v1/access-codes/check", json={"join_token": "zz"}).status_code == 400
    assert client.http.post("/api/v1/access-codes/check", json={}).status_code == 400
    with pytest.raises(ApiError) as err:
        ap.check_code(client, "kein Code")
    assert err.value.detail == "Zugangscode unbekannt."


def test_join_tokens_are_derived_slowly_from_the_code(server: LiveServer, practice: Callable[..., Client],
                                                     clock: Clock) -> None:
    """§8a.4: the server knows a code only by h("vdc/v1/join", Argon2id(code)); the fast v1 token of the same
    code is unknown to it, so a recorded token no longer lets an operator search the codes cheaply."""
    clock.set(START - timedelta(minutes=10))
    client = practice()
    code = ap.add(client, START, 30, "Jörg Böhm").patient.codes["patient"]
    assert ap.check_code(client, code)["role"] == "patient"
    fast = h("vdc/v1/join", normalise_code(code))
    response = client.http.post("/api/v1/access-codes/check", json={"join_token": fast.hex()})
    assert response.status_code == 404
    assert CODE_SECRETS.join_token(code) == join_token_from_secret(join_secret(code)) != fast
