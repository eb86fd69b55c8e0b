"""Benutzer: in-person creation, roles, deactivation, invites, admin reset, password change; and the
proof that nothing without the old password, an org-signed certificate or a master-password proof
changes a password. Through the HTTP API with several SDK installs, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from application.errors import AUTH_FAILED_MESSAGE
from infrastructure.readmodel_cipher import ReadModelCipher
from interfaces.client import devices, users
from interfaces.client.sdk import ApiError, Client, TamperingDetected
from sprechzimmer_protocol import layouts
from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol.policy import PASSWORD_MEM, PASSWORD_OPS
from sprechzimmer_protocol.primitives import SigningKey, random_bytes, sign
from tests.conftest import PASSWORD, LiveServer
from tests.devices.helpers import ADMIN, ORG, STAFF_PASSWORD, admin_client, approved_device, tampered_client


def _login_fails(client: Client, user: str, password: str) -> None:
    with pytest.raises(ApiError) as err:
        client.login(ORG, user, password)
    assert err.value.status == 401 and err.value.detail == AUTH_FAILED_MESSAGE


def test_staff_user_cannot_approve_devices_or_create_users(server: LiveServer,
                                                            new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    users.add_user(admin, "AnnaS", "staff", STAFF_PASSWORD)
    listed = {u["user_short"]: u for u in users.list_users(admin)}
    assert listed["AnnaS"]["role"] == "staff" and listed["AnnaS"]["certified"] and listed["AnnaS"]["active"]
    with pytest.raises(ApiError) as duplicate:
        users.add_user(admin, "annas", "staff", STAFF_PASSWORD)
    assert duplicate.value.status == 409
    with pytest.raises(ApiError) as short:
        users.add_user(admin, "KurtK", "staff", "kurz")
    assert short.value.status == 400 and "8 bis 32" in short.value.detail

    staff = approved_device(admin, new_client, "Empfang", "AnnaS", STAFF_PASSWORD)
    assert staff.session is not None and staff.session.role == "staff"
    other = new_client("praxis-pc")
    enrolment = devices.enroll(other, ORG, "AnnaS", STAFF_PASSWORD, "Praxis-PC")
    with pytest.raises(ApiError) as approve:
        devices.approve(staff, enrolment.device_id, enrolment.pairing_code)
    assert approve.value.status == 403 and approve.value.detail == "Nur Administratoren dürfen Geräte freigeben."
    with pytest.raises(ApiError) as add:
        users.add_user(staff, "BenS", "staff", "Ben#Praxis20245")
    assert add.value.status == 403 and "Nur Administratoren" in add.value.detail
    with pytest.raises(ApiError) as invite:
        users.invite(staff, "BenS")
    assert invite.value.status == 403
    with pytest.raises(ApiError) as stammdaten:
        staff.request("PUT", "/api/v1/stammdaten", users.stammdaten(admin) | {"org_short": None}, auth=True)
    assert stammdaten.value.status == 400  # unknown fields first; a clean body as staff is a 403 below
    body = {k: v for k, v in users.stammdaten(admin).items() if k in ("organisation", "address", "main_user")}
    with pytest.raises(ApiError) as staff_edit:
        staff.request("PUT", "/api/v1/stammdaten", body, auth=True)
    assert staff_edit.value.status == 403
    assert any(d["device_id"] == enrolment.device_id and d["status"] == "pending"
               for d in devices.list_devices(admin)["devices"])


def test_deactivate_reactivate_invite_and_admin_reset(server: LiveServer,
                                                      new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    users.add_user(admin, "AnnaS", "staff", STAFF_PASSWORD)
    staff = approved_device(admin, new_client, "Empfang", "AnnaS", STAFF_PASSWORD)

    users.set_active(admin, "AnnaS", False)
    with pytest.raises(ApiError) as ended:
        staff.whoami()
    assert ended.value.status == 401
    _login_fails(staff, "AnnaS", STAFF_PASSWORD)
    with pytest.raises(ApiError) as main_user:
        users.set_active(admin, ADMIN, False)
    assert main_user.value.status == 409
    users.set_active(admin, "AnnaS", True)
    assert staff.login(ORG, "AnnaS", STAFF_PASSWORD).role == "staff"
    users.set_role(admin, "AnnaS", "admin")
    assert staff.whoami()["role"] == "admin" and staff.login(ORG, "AnnaS", STAFF_PASSWORD).role == "admin"
    users.set_role(admin, "AnnaS", "staff")
    assert {u["user_short"]: u["role"] for u in users.list_users(admin)}["AnnaS"] == "staff"
    with pytest.raises(ApiError) as demote_main:
        users.set_role(admin, ADMIN, "staff")
    assert demote_main.value.status == 409

    # Remote invite: the employee chooses a password on a new device, which the admin approves by code.
    code = users.invite(admin, "BenS", "staff")
    ben = new_client("ben-laptop")
    pairing = users.redeem_invite(ben, ORG, "BenS", code, "Ben#Praxis2024!", "Laptop Ben")
    listed = {u["user_short"]: u for u in users.list_users(admin)}
    assert listed["BenS"]["certified"] is False
    pending = next(d for d in devices.list_devices(admin)["devices"] if d["name"] == "Laptop Ben")
    devices.approve(admin, pending["device_id"], pairing)  # also signs Ben's certificate
    assert {u["user_short"]: u for u in users.list_users(admin)}["BenS"]["certified"] is True
    assert ben.login(ORG, "BenS", "Ben#Praxis2024!").role == "staff"
    with pytest.raises(ApiError) as reused:  # one-time
        users.redeem_invite(new_client("ben-2"), ORG, "BenS", code, "Ben#Anders2024!", "Zweit")
    assert reused.value.status == 401

    # Forgotten staff password, in person on the admin's device: old sessions end, old password fails.
    users.reset_password(admin, "AnnaS", "Anna#Neu2025xyz")
    with pytest.raises(ApiError):
        staff.whoami()
    _login_fails(staff, "AnnaS", STAFF_PASSWORD)
    assert staff.login(ORG, "AnnaS", "Anna#Neu2025xyz").role == "staff"

    # A reset invite for an existing user: the employee sets the password while enrolling a device.
    reset_code = users.invite(admin, "AnnaS")
    anna2 = new_client("anna-home")
    pairing2 = users.redeem_invite(anna2, ORG, "AnnaS", reset_code, "Anna#Zuhause2025", "Anna zuhause")
    _login_fails(staff, "AnnaS", "Anna#Neu2025xyz")
    pending2 = next(d for d in devices.list_devices(admin)["devices"] if d["name"] == "Anna zuhause")
    devices.approve(admin, pending2["device_id"], pairing2)
    assert anna2.login(ORG, "AnnaS", "Anna#Zuhause2025").role == "staff"
    assert staff.login(ORG, "AnnaS", "Anna#Zuhause2025").role == "staff"

    before = users.list_users(admin)
    server.container.projections.rebuild()
    assert users.list_users(admin) == before


def test_password_change_ends_other_sessions(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    second = approved_device(admin, new_client, "Sprechzimmer 1")
    assert second.whoami()["user_short"] == ADMIN
    ended = users.change_password(admin, PASSWORD, "Winkler#Neu2025!")
    assert ended >= 1
    assert admin.whoami()["user_short"] == ADMIN  # this session stays
    with pytest.raises(ApiError) as other:
        second.whoami()
    assert other.value.status == 401
    _login_fails(second, ADMIN, PASSWORD)
    assert second.login(ORG, ADMIN, "Winkler#Neu2025!").keyring.version == 1
    with pytest.raises(ApiError) as wrong_old:
        users.change_password(admin, "Falsch#Passwort1", "Winkler#Neu2026!")
    assert wrong_old.value.status == 400 and wrong_old.value.detail == "Das bisherige Passwort ist falsch."


def test_no_password_changes_without_old_password_org_certificate_or_master_proof(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    """What the operator (holding the server, not the org key, a password or the master password) could
    send is refused, and the password stays what it was."""
    admin = admin_client(new_client)
    session = admin.session
    assert session is not None
    org_id = session.org_id
    operator_key = SigningKey(random_bytes(32))  # not the org key
    new = users.new_password("Operator#Pw2025")
    key = "martinw"

    def cert(signing: Any) -> str:
        return sign(signing, layouts.user_cert(org_id, key, "admin", new.salt, PASSWORD_OPS, PASSWORD_MEM,
                                                   new.pk)).hex()

    def change_body(sig_old_key: Any, cert_key: Any, with_proof: bool = True) -> dict[str, Any]:
        proof, nonce, _ = devices.proof(admin, "password-change", key)
        message = t.password_change(org_id, key, new.salt, new.pk, nonce)
        if not with_proof:
            proof = {"challenge_id": proof["challenge_id"], "sig": "00" * 64}
        return {"password": new.body(), "cert": cert(cert_key), "sig_old": sign(sig_old_key, message).hex(),
                "sig_new": sign(new.keys.signing, message).hex(), "proof": proof}

    org_key = session.keyring.signing
    refused: list[tuple[str, str, dict[str, Any], bool, int]] = [
        # own change: without the old password's signature, with a forged certificate, without device proof
        ("POST", "/api/v1/password", change_body(new.keys.signing, org_key), True, 400),
        ("POST", "/api/v1/password", change_body(operator_key, org_key), True, 400),
        ("POST", "/api/v1/password", change_body(new.keys.signing, operator_key), True, 400),
        ("POST", "/api/v1/password", change_body(new.keys.signing, org_key, with_proof=False), True, 403),
    ]
    proof, nonce, _ = devices.proof(admin, "user-password-reset", key)
    refused.append(("POST", f"/api/v1/users/{ADMIN}/password", {
        "password": new.body(), "cert": cert(operator_key), "proof": proof,
        "sig_new": sign(new.keys.signing, t.password_set(org_id, key, "admin", new.salt, PASSWORD_OPS,
                                                           PASSWORD_MEM, new.pk, nonce)).hex()}, True, 400))
    challenge = admin.request("POST", "/api/v1/recovery/start", {"org": ORG, "origin": admin.origin})
    refused.append(("POST", "/api/v1/recovery/finish", {
        "challenge_id": challenge["challenge_id"], "device_id": "dev-operator", "name": "Operator",
        "dev_sign_pk": operator_key.verify_key.encode().hex(), "dev_box_pk": "11" * 32,
        "sig_mp": "22" * 64, "sig_dev": "33" * 64}, False, 401))
    refused.append(("POST", "/api/v1/recovery/complete", {
        "recovery_token": random_bytes(32).hex(), "cert": "44" * 64, "approved_at": "2026-11-28T09:00:00+00:00",
        "grant": {"sealed": "55" * 80, "sig": "66" * 64},
        "reset": {"user_short": ADMIN, "password": new.body(), "cert": cert(operator_key), "sig_new": "77" * 64}},
        False, 401))
    start = admin.request("POST", "/api/v1/auth/start", {"org": ORG, "user": ADMIN, "device_id": "dev-op",
                                                         "origin": admin.origin})
    refused.append(("POST", "/api/v1/invites/redeem", {
        "challenge_id": start["challenge_id"], "token": random_bytes(32).hex(), "name": "Operator",
        "dev_sign_pk": operator_key.verify_key.encode().hex(), "dev_box_pk": "11" * 32, "password": new.body(),
        "sig_pw": "00" * 64, "sig_dev": "00" * 64}, False, 401))
    refused.append(("POST", "/api/v1/password", change_body(org_key, org_key), False, 401))  # no session

    for method, path, body, auth, status in refused:
        with pytest.raises(ApiError) as err:
            admin.request(method, path, body, auth=auth)
        assert err.value.status == status, (path, err.value.detail)
    organisation = server.container.services.events.get(UUID(org_id))
    assert organisation.user(ADMIN).pk_pw != new.pk.hex()
    assert admin.login(ORG, ADMIN, PASSWORD).user_short == ADMIN
    _login_fails(admin, ADMIN, "Operator#Pw2025")


def test_stammdaten_are_edited_with_the_registration_rules(server: LiveServer,
                                                           new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    data = users.stammdaten(admin)
    assert data["org_short"] == ORG and data["main_user_short"] == ADMIN
    address = {**data["address"], "street": "Hauptstraße", "number": "7", "postcode": "54321"}
    main_user = {**data["main_user"], "email": "praxis@winkler.example", "phone": "0301234567"}
    changed = users.update_stammdaten(admin, {**data["organisation"], "specialty": "Allgemeinmedizin"}, address,
                                      main_user)
    assert changed["address"]["street"] == "Hauptstraße" and changed["main_user"]["email"] == "praxis@winkler.example"
    assert changed["organisation"]["specialty"] == "Allgemeinmedizin" and changed["org_short"] == ORG
    assert users.stammdaten(admin)["address"]["postcode"] == "54321"

    with pytest.raises(ApiError) as bad:
        users.update_stammdaten(admin, data["organisation"], {**address, "postcode": "1234"},
                                {**main_user, "email": "keine-adresse"})
    assert bad.value.status == 400
    assert "address.postcode" in bad.value.errors and "main_user.email" in bad.value.errors
    with pytest.raises(ApiError) as immutable:
        admin.request("PUT", "/api/v1/stammdaten", {"organisation": data["organisation"], "address": address,
                                                    "main_user": main_user, "org_short": "Neu"}, auth=True)
    assert immutable.value.status == 400 and "org_short" in immutable.value.errors
    assert users.stammdaten(admin)["address"]["street"] == "Hauptstraße"  # nothing half-written
    assert admin.login(ORG, ADMIN, PASSWORD).org_short == ORG


def test_invited_users_password_key_is_certified_only_with_the_invite_proof(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    """§8a.10: the server swaps the invited employee's pk_pw for one whose password it knows. The admin
    client that issued the code checks the employee's proof of the code and certifies nothing."""
    admin = admin_client(new_client)
    code = users.invite(admin, "BenS", "staff")
    ben = new_client("ben-laptop")
    pairing = users.redeem_invite(ben, ORG, "BenS", code, "Ben#Praxis2024!", "Laptop Ben")
    listed = {u["user_short"]: u for u in users.list_users(admin)}
    assert len(listed["BenS"]["invite_proof"]) == 64 and listed["BenS"]["certified"] is False

    server_known = SigningKey(random_bytes(32)).verify_key.encode().hex()
    cipher = ReadModelCipher(server.container.services.keystore)  # the server holds the read-model key
    with server.container.state_db.transaction() as cur:
        cur.execute("UPDATE rm_users SET pk_pw = %s WHERE user_key = %s",
                    (cipher.seal(UUID(admin.session.org_id), "pk_pw", server_known), "bens"))  # type: ignore[union-attr]
    pending = next(d for d in devices.list_devices(admin)["devices"] if d["name"] == "Laptop Ben")
    with pytest.raises(TamperingDetected) as warned:
        devices.approve(admin, pending["device_id"], pairing)
    assert str(warned.value).startswith("Sicherheitswarnung") and "BenS" in str(warned.value)
    with pytest.raises(TamperingDetected):
        users.certify_pending(admin)
    assert {u["user_short"]: u for u in users.list_users(admin)}["BenS"]["certified"] is False
    assert next(d for d in devices.list_devices(admin)["devices"]
                if d["device_id"] == pending["device_id"])["status"] == "pending"
    with pytest.raises(ApiError):
        ben.login(ORG, "BenS", "Ben#Praxis2024!")

    # The genuine key again (a rebuilt read model): approval certifies Ben, who can then log in.
    server.container.projections.rebuild()
    devices.approve(admin, pending["device_id"], pairing)
    assert {u["user_short"]: u for u in users.list_users(admin)}["BenS"]["certified"] is True
    assert ben.login(ORG, "BenS", "Ben#Praxis2024!").role == "staff"


def test_a_login_or_resumed_session_without_a_valid_user_certificate_is_refused(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)

    def drop_cert(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path in ("/api/v1/auth/finish", "/api/v1/session"):
            body.pop("user_cert", None)
        return body

    def forge_cert(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path in ("/api/v1/auth/finish", "/api/v1/session"):
            body["user_cert"] = "00" * 64
        return body

    for rewrite in (drop_cert, forge_cert):
        with pytest.raises(TamperingDetected):
            tampered_client(admin, rewrite).login(ORG, ADMIN, PASSWORD)
    assert tampered_client(admin, lambda path, body: body).resume(ORG, ADMIN) is not None
    for rewrite in (drop_cert, forge_cert):
        with pytest.raises(TamperingDetected):
            tampered_client(admin, rewrite).resume(ORG, ADMIN)


def test_staff_sees_no_password_verifiers_of_others_and_no_master_password_parameters(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    """§8a.9 / issue 10.8: salt and pk_pw are all an offline guess needs, so only admins get them."""
    admin = admin_client(new_client)
    users.add_user(admin, "AnnaS", "staff", STAFF_PASSWORD)
    staff = approved_device(admin, new_client, "Empfang", "AnnaS", STAFF_PASSWORD)
    seen = {u["user_short"]: u for u in users.list_users(staff)}
    assert set(seen) == {ADMIN, "AnnaS"}
    assert "pk_pw" not in seen[ADMIN] and "pw_salt" not in seen[ADMIN]
    assert len(seen["AnnaS"]["pk_pw"]) == 64  # the own verifier stays visible
    with pytest.raises(ApiError) as master:
        staff.request("GET", "/api/v1/masterpassword", auth=True)
    assert master.value.status == 403 and "Administratoren" in master.value.detail
    assert len({u["user_short"]: u for u in users.list_users(admin)}["AnnaS"]["pk_pw"]) == 64
    assert "salt" in admin.request("GET", "/api/v1/masterpassword", auth=True)
