"""Device enrolment, approval with the typed pairing code, lock/unlock/rename, revocation with keyring
rotation: through the HTTP API with several SDK installs, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from nacl.exceptions import CryptoError

from application.errors import AUTH_FAILED_MESSAGE
from infrastructure.readmodel_cipher import ReadModelCipher
from interfaces.client import appointments, devices
from interfaces.client.sdk import ApiError, Client, Keyring, TamperingDetected
from sprechzimmer_protocol import layouts
from sprechzimmer_protocol.codes import normalise_code
from sprechzimmer_protocol.encoding import lp
from sprechzimmer_protocol.keys import DeviceKeys, pairing_key, pairing_tag_approver
from sprechzimmer_protocol.primitives import aead_decrypt, aead_encrypt, random_bytes, sign
from sprechzimmer_protocol.records import RecordEnvelope
from tests.conftest import PASSWORD, Clock, LiveServer
from tests.devices.helpers import ADMIN, ORG, admin_client, approved_device, tampered_client


def _finish_bodies(client: Client) -> list[bytes]:
    """Records the raw bodies of /auth/finish answers, to compare them byte for byte."""
    bodies: list[bytes] = []

    def hook(response: httpx.Response) -> None:
        if response.request.url.path == "/api/v1/auth/finish":
            bodies.append(response.read())

    client.http.event_hooks["response"].append(hook)
    return bodies


def _raw_approve(admin: Client, device: dict[str, Any], code: str) -> None:
    """What a client would send, without the client's own pending check: to show the server refuses."""
    session = admin.session
    assert session is not None
    k_pair = pairing_key(code, session.org_id, device["device_id"])
    approved_at = datetime.now(UTC).isoformat(timespec="seconds")
    cert = sign(session.keyring.signing, layouts.device_cert(
        session.org_id, device["device_id"], device["name"], bytes.fromhex(device["dev_sign_pk"]),
        bytes.fromhex(device["dev_box_pk"]), approved_at, session.device_id))
    proof, _, _ = devices.proof(admin, "device-approve", device["device_id"])
    admin.request("POST", f"/api/v1/devices/{device['device_id']}/approve", {
        "cert": cert.hex(), "approved_at": approved_at,
        "grant": session.keyring.grant(device["device_id"], bytes.fromhex(device["dev_box_pk"])).to_wire(),
        "grant_version": session.keyring.version,
        "approver_tag": pairing_tag_approver(k_pair, session.org_id, device["device_id"],
                                               session.keyring.sign_pk).hex(),
        "proof": proof}, auth=True)


def _listed(admin: Client, device_id: str) -> dict[str, Any]:
    return next(d for d in devices.list_devices(admin)["devices"] if d["device_id"] == device_id)


def test_pending_device_waits_then_logs_in_after_approval_with_the_typed_code(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    b = new_client("sprechzimmer-1")
    enrolment = devices.enroll(b, ORG, ADMIN, PASSWORD, "Sprechzimmer 1")
    assert len(normalise_code(enrolment.pairing_code)) == 12

    # Before approval: the server's answer is the single 401, byte for byte the same as a wrong password;
    # only the client, knowing its enrolment is pending and its password right, says why.
    bodies_b, bodies_admin = _finish_bodies(b), _finish_bodies(admin)
    with pytest.raises(ApiError) as waiting:
        b.login(ORG, ADMIN, PASSWORD)
    assert waiting.value.status == 401 and waiting.value.detail == devices.MSG_WAITING
    with pytest.raises(ApiError) as wrong:
        b.login(ORG, ADMIN, PASSWORD + "x")
    assert wrong.value.detail == AUTH_FAILED_MESSAGE
    with pytest.raises(ApiError):
        admin.login(ORG, ADMIN, "Falsches#Passwort1")
    assert len(bodies_b) == 2 and len(bodies_admin) == 1
    assert bodies_b[0] == bodies_b[1] == bodies_admin[0]

    admin.login(ORG, ADMIN, PASSWORD)
    pending = _listed(admin, enrolment.device_id)
    assert pending["status"] == "pending" and pending["name"] == "Sprechzimmer 1"
    assert pending["requested_by"] == "martinw"
    assert any(n["kind"] == "device-requested" for n in devices.list_devices(admin)["notices"])

    # A wrong code is refused by the approving client: nothing is signed or sent.
    wrong_code = "0000-0000-0000" if enrolment.pairing_code != "0000-0000-0000" else "1111-1111-1111"
    with pytest.raises(TamperingDetected):
        devices.approve(admin, enrolment.device_id, wrong_code)
    with pytest.raises(ApiError) as malformed:
        devices.approve(admin, enrolment.device_id, "12345")
    assert malformed.value.status == 400
    assert _listed(admin, enrolment.device_id)["status"] == "pending"

    devices.approve(admin, enrolment.device_id, enrolment.pairing_code.lower().replace("-", " "))
    session = b.login(ORG, ADMIN, PASSWORD)
    assert session.keyring.data_keys == admin.session.keyring.data_keys  # type: ignore[union-attr]
    record = b.store.device(b.origin, "pwinkler")
    assert record is not None and record.pinned_org_sign_pk == admin.session.keyring.sign_pk.hex()  # type: ignore
    assert record.pairing_code is None
    assert _listed(admin, enrolment.device_id)["status"] == "approved"

    # A second approval of the same request fails cleanly, on the client and on the server.
    with pytest.raises(ApiError) as again:
        devices.approve(admin, enrolment.device_id, enrolment.pairing_code)
    assert again.value.status == 409
    with pytest.raises(ApiError) as again_raw:
        _raw_approve(admin, _listed(admin, enrolment.device_id), enrolment.pairing_code)
    assert again_raw.value.status == 409 and "bereits freigegeben" in again_raw.value.detail


def test_stale_request_cannot_be_approved(server: LiveServer, new_client: Callable[[str], Client],
                                          clock: Clock) -> None:
    admin = admin_client(new_client)
    b = new_client("b")
    enrolment = devices.enroll(b, ORG, ADMIN, PASSWORD, "Empfang")
    pending = _listed(admin, enrolment.device_id)
    clock.advance(hours=24, minutes=5)
    admin.login(ORG, ADMIN, PASSWORD)  # the earlier session is past its idle timeout
    assert _listed(admin, enrolment.device_id)["status"] == "expired"
    with pytest.raises(ApiError) as client_side:
        devices.approve(admin, enrolment.device_id, enrolment.pairing_code)
    assert client_side.value.status == 409
    with pytest.raises(ApiError) as server_side:
        _raw_approve(admin, pending, enrolment.pairing_code)
    assert server_side.value.status == 409 and "abgelaufen" in server_side.value.detail
    with pytest.raises(ApiError) as login:
        b.login(ORG, ADMIN, PASSWORD)
    assert login.value.detail == AUTH_FAILED_MESSAGE  # no longer "waiting"
    assert devices.revoke(admin, enrolment.device_id).version == 1  # rejected; it never had keys to rotate
    assert _listed(admin, enrolment.device_id)["status"] == "revoked"


def test_server_substituting_the_new_devices_keys_is_refused_by_the_approver(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    b = new_client("b")
    enrolment = devices.enroll(b, ORG, ADMIN, PASSWORD, "Sprechzimmer 2")
    attacker = DeviceKeys.from_seed(random_bytes(32))
    cipher = ReadModelCipher(server.container.services.keystore)  # the server holds the read-model key
    org_id = UUID(enrolment.org_id)
    with server.container.state_db.transaction() as cur:  # the server swaps B's keys in its store
        cur.execute("UPDATE rm_devices SET dev_box_pk = %s, dev_sign_pk = %s WHERE device_id = %s",
                    (cipher.seal(org_id, "dev_box_pk", bytes(attacker.box.public_key).hex()),
                     cipher.seal(org_id, "dev_sign_pk", attacker.signing.verify_key.encode().hex()),
                     enrolment.device_id))
    with pytest.raises(TamperingDetected):
        devices.approve(admin, enrolment.device_id, enrolment.pairing_code)
    assert _listed(admin, enrolment.device_id)["status"] == "pending"

    # The same substitution in transit (the listing the approver receives) is refused alike.
    server.container.projections.rebuild()  # the store holds B's genuine keys again

    def swap_keys(path: str, body: dict[str, Any]) -> dict[str, Any]:
        for device in body.get("devices", []):
            if device["device_id"] == enrolment.device_id:
                device["dev_box_pk"] = bytes(attacker.box.public_key).hex()
        return body

    evil_admin = tampered_client(admin, swap_keys)
    evil_admin.session = admin.session
    with pytest.raises(TamperingDetected):
        devices.approve(evil_admin, enrolment.device_id, enrolment.pairing_code)
    assert _listed(admin, enrolment.device_id)["status"] == "pending"


def test_server_substituting_the_organisation_key_is_refused_by_the_devices(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    b = new_client("b")
    enrolment = devices.enroll(b, ORG, ADMIN, PASSWORD, "Sprechzimmer 3")
    devices.approve(admin, enrolment.device_id, enrolment.pairing_code)
    fake = Keyring.new(enrolment.org_id)
    b_box = bytes.fromhex(_listed(admin, enrolment.device_id)["dev_box_pk"])

    def swap_org_key(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/auth/finish":  # a keyring of the server's making, signed by its own "org key"
            body["org_sign_pk"] = fake.sign_pk.hex()
            body["grant"] = {"version": 1, **fake.grant(body["device_id"], b_box).to_wire()}
        return body

    with pytest.raises(TamperingDetected):  # the approver's tag over the org key does not match
        tampered_client(b, swap_org_key).login(ORG, ADMIN, PASSWORD)
    record = b.store.device(b.origin, "pwinkler")
    assert record is not None and record.pinned_org_sign_pk is None  # nothing pinned
    with pytest.raises(TamperingDetected):  # an already pinned device refuses it too
        tampered_client(admin, swap_org_key).login(ORG, ADMIN, PASSWORD)

    assert b.login(ORG, ADMIN, PASSWORD).keyring.version == 1  # the genuine answer still works


def test_lock_unlock_rename_and_revocation_with_keyring_rotation(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    b = approved_device(admin, new_client, "Sprechzimmer 1")
    d = approved_device(admin, new_client, "Empfang")
    assert b.session is not None and d.session is not None
    b_id, d_id = b.session.device_id, d.session.device_id

    devices.set_locked(admin, d_id, True)
    assert _listed(admin, d_id)["status"] == "locked"
    with pytest.raises(ApiError) as locked_session:
        d.whoami()
    assert locked_session.value.status == 401  # its session ended at once
    with pytest.raises(ApiError) as locked_login:
        d.login(ORG, ADMIN, PASSWORD)
    assert locked_login.value.detail == AUTH_FAILED_MESSAGE
    devices.set_locked(admin, d_id, False)
    devices.rename(admin, d_id, "Empfang links")
    assert _listed(admin, d_id)["name"] == "Empfang links"
    assert d.login(ORG, ADMIN, PASSWORD).keyring.version == 1  # the renamed certificate verifies
    with pytest.raises(ApiError) as own:
        devices.set_locked(admin, admin.session.device_id, True)  # type: ignore[union-attr]
    assert own.value.status == 403

    b_last_keyring = b.session.keyring
    server_key = DeviceKeys.from_seed(random_bytes(32)).box.public_key

    def swap_master_key(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/masterpassword":  # the server would like the new keyring sealed to its own key
            body["box_pk"] = bytes(server_key).hex()
        return body

    evil_admin = tampered_client(admin, swap_master_key)
    evil_admin.session = admin.session
    with pytest.raises(TamperingDetected):
        devices.revoke(evil_admin, b_id)
    assert _listed(admin, b_id)["status"] == "approved"  # nothing was sent

    new_keyring = devices.revoke(admin, b_id)
    assert new_keyring.version == 2 and set(new_keyring.data_keys) == {1, 2}
    assert _listed(admin, b_id)["status"] == "revoked"

    # Data written after the revocation, under the newest data key, as every remaining device now has it.
    assert d.login(ORG, ADMIN, PASSWORD).keyring.data_keys == new_keyring.data_keys
    assert admin.login(ORG, ADMIN, PASSWORD).keyring.version == 2
    aad = lp("vdc/v1/appt", new_keyring.org_id, "appt-1", "patient", 1)
    secret = aead_encrypt(new_keyring.data_keys[2], b'{"name": "J\\u00f6rg B\\u00f6hm"}', aad)
    assert 2 not in b_last_keyring.data_keys
    for key in b_last_keyring.data_keys.values():
        with pytest.raises(CryptoError):
            aead_decrypt(key, secret, aad)
    # The revoked device can neither use its session nor log in to fetch a grant.
    with pytest.raises(ApiError) as revoked_session:
        b.whoami()
    assert revoked_session.value.status == 401
    with pytest.raises(ApiError) as revoked_login:
        b.login(ORG, ADMIN, PASSWORD)
    assert revoked_login.value.detail == AUTH_FAILED_MESSAGE
    # A server replaying the older keyring version (rollback) to a device that has seen v2 is refused.
    old_grant = server.container.services.events.device(UUID(new_keyring.org_id), d_id).grants[1]

    def roll_back(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/auth/finish":
            body["grant"] = old_grant
        return body

    with pytest.raises(TamperingDetected):
        tampered_client(d, roll_back).login(ORG, ADMIN, PASSWORD)
    organisation = server.container.services.events.get(UUID(new_keyring.org_id))
    assert sorted(organisation.mp_grants) == [1, 2]  # the master password receives v2 as well
    assert server.container.services.events.device(organisation.org_id, b_id).grants == {}

    # The read model rebuilds to the same listing.
    before = devices.list_devices(admin)
    server.container.projections.rebuild()
    assert devices.list_devices(admin) == before


def test_a_device_still_logged_in_seals_new_data_under_the_rotated_keyring(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    """Issue 10.11: after a revocation the server refuses writes sealed under the old keyring (409 with the
    current version); the SDK of a device that stayed logged in fetches its new grant and seals again."""
    admin = admin_client(new_client)
    second = approved_device(admin, new_client, "Sprechzimmer 1")
    revoked = approved_device(admin, new_client, "Empfang")
    revoked_keyring = revoked.session.keyring  # type: ignore[union-attr]
    assert second.session is not None and second.session.keyring.version == 1

    devices.revoke(admin, revoked.session.device_id)  # type: ignore[union-attr]
    stale_id = str(uuid4())
    with pytest.raises(ApiError) as stale:  # a client that ignores the rotation gets the current version
        second.request("POST", "/api/v1/appointments", {
            "appointment_id": stale_id, "starts_at": "2030-01-07T09:00:00+00:00", "duration_minutes": 20,
            "record": appointments.seal_record(second.session.keyring, stale_id,
                                               appointments.PatientRecord("Jörg Böhm")),
            "join_tokens": appointments.join_tokens(appointments.new_codes())}, auth=True)
    assert stale.value.status == 409 and stale.value.problem["keyring_version"] == 2

    created = appointments.add(second, datetime(2030, 1, 7, 10, 0), 20, "Jörg Böhm")
    assert second.session.keyring.version == 2
    raw = second.request("GET", f"/api/v1/appointments/{created.appointment_id}", auth=True)
    assert raw["record"]["kver"] == 2
    with pytest.raises(TamperingDetected):  # the revoked device's data keys do not open it
        appointments.open_record(revoked_keyring, created.appointment_id, raw["record"])
    edited = appointments.edit(admin, created.appointment_id, note="Rückruf")
    assert edited.patient.note == "Rückruf"

    # Fork detection (§8a.11): a record sealed under the old keyring *after* the rotation (as a device that a
    # forking server kept on version 1 would write it) raises a security warning on devices pinned to v2.
    before = appointments.add(admin, datetime(2030, 1, 7, 11, 0), 20, "Erika Mustermann")
    forked = appointments.PatientRecord("Erika Mustermann", sealed_at=(datetime.now(UTC) + timedelta(hours=1))
                                        .isoformat(timespec="seconds"))
    envelope = RecordEnvelope.seal(revoked_keyring, before.appointment_id, appointments.FIELD, appointments.SCHEMA,
                                   json.dumps(forked.to_json()).encode())
    with server.container.state_db.transaction() as cur:
        cur.execute("UPDATE rm_appointments SET record = %s WHERE appointment_id = %s",
                    (json.dumps(envelope.to_wire()), before.appointment_id))
    assert second.session.keyring_rotated_at is not None
    with pytest.raises(TamperingDetected) as fork:
        list(appointments.listing(second, day=date(2030, 1, 7)))
    assert str(fork.value) == appointments.MSG_FORK
    old = appointments.PatientRecord("Erika Mustermann", sealed_at="2020-01-01T00:00:00+00:00")  # before rotation
    envelope = RecordEnvelope.seal(revoked_keyring, before.appointment_id, appointments.FIELD, appointments.SCHEMA,
                                   json.dumps(old.to_json()).encode())
    with server.container.state_db.transaction() as cur:
        cur.execute("UPDATE rm_appointments SET record = %s WHERE appointment_id = %s",
                    (json.dumps(envelope.to_wire()), before.appointment_id))
    assert len(list(appointments.listing(second, day=date(2030, 1, 7)))) == 2
