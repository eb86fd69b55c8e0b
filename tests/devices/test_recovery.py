"""Master-password recovery on a fresh device, master-password approval of a pending device, the
master-password change, throttling and notification (real SMTP via aiosmtpd). Each master-password
derivation costs ~0.5 s, so the scenarios are grouped."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from application import recovery
from application.errors import AUTH_FAILED_MESSAGE, AuthFailed
from interfaces.client import devices, users
from interfaces.client.recovery import MSG_ANCHOR, recover
from interfaces.client.sdk import ApiError, Client, Keyring, TamperingDetected
from sprechzimmer_protocol.keys import DeviceKeys
from sprechzimmer_protocol.primitives import random_bytes
from tests.conftest import MASTER_PASSWORD, PASSWORD, LiveServer, MailBox, register
from tests.devices.helpers import ADMIN, ORG, admin_client, approved_device, tampered_client

NEW_PASSWORD = "Winkler#Neustart25"
NEW_MASTER = "Praxis am Markt: neuer Schlüssel 2025!"
CONTACT = "m.winkler@mail.de"


def _wrong_proof(client: Client, org: str = ORG) -> ApiError:
    """A wrong master password as the server sees it: a signature that does not verify."""
    challenge = client.request("POST", "/api/v1/recovery/start", {"org": org, "origin": client.origin})
    device = DeviceKeys.from_seed(random_bytes(32))
    with pytest.raises(ApiError) as err:
        client.request("POST", "/api/v1/recovery/finish", {
            "challenge_id": challenge["challenge_id"], "device_id": "dev-" + random_bytes(4).hex(),
            "name": "Unbekannt", "dev_sign_pk": device.signing.verify_key.encode().hex(),
            "dev_box_pk": bytes(device.box.public_key).hex(), "sig_mp": "01" * 64, "sig_dev": "02" * 64})
    return err.value


def test_recovery_on_a_fresh_device_sets_a_new_password_and_notifies(
        server: LiveServer, new_client: Callable[[str], Client], mailbox: MailBox) -> None:
    admin = admin_client(new_client)
    old_keyring = admin.session.keyring  # type: ignore[union-attr]
    fresh = new_client("notfall-laptop")

    with pytest.raises(ApiError) as wrong:  # 1st attempt: wrong master password, the generic error
        recover(fresh, ORG, "Falsches Masterpasswort 123!", "Notfall-Laptop", ADMIN, NEW_PASSWORD)
    assert wrong.value.status == 401 and wrong.value.detail == AUTH_FAILED_MESSAGE
    mails = mailbox.wait_for(1)
    assert mails[0]["To"] == CONTACT and "Fehlgeschlagener Versuch" in mails[0]["Subject"]

    fake = Keyring.new(str(old_keyring.org_id))

    def swap_org_key(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/recovery/finish":
            body["org_sign_pk"] = fake.sign_pk.hex()
        return body

    with pytest.raises(TamperingDetected) as swapped:  # 2nd: the server swaps the org key: anchor mismatch
        recover(tampered_client(fresh, swap_org_key), ORG, MASTER_PASSWORD, "Notfall-Laptop")
    assert str(swapped.value) == MSG_ANCHOR

    done = recover(fresh, ORG, MASTER_PASSWORD, "Notfall-Laptop", ADMIN, NEW_PASSWORD)  # 3rd
    assert done.user_short == ADMIN and done.keyring.data_keys == old_keyring.data_keys
    mails = mailbox.wait_for(3)
    assert sum("Anmeldung mit dem Masterpasswort" in m["Subject"] for m in mails) == 2
    assert all(m["To"] == CONTACT for m in mails)
    assert all(MASTER_PASSWORD not in str(m.get_content()) and NEW_PASSWORD not in str(m.get_content())
               for m in mails)

    with pytest.raises(ApiError) as old_session:  # the admin's sessions ended with the reset
        admin.whoami()
    assert old_session.value.status == 401
    with pytest.raises(ApiError) as old_password:
        admin.login(ORG, ADMIN, PASSWORD)
    assert old_password.value.detail == AUTH_FAILED_MESSAGE
    assert fresh.login(ORG, ADMIN, NEW_PASSWORD).keyring.version == 1
    assert admin.login(ORG, ADMIN, NEW_PASSWORD).role == "admin"
    notices = devices.list_devices(admin)["notices"]
    kinds = [n["kind"] for n in notices]
    assert kinds.count("recovery-failed") >= 1 and "recovery-succeeded" in kinds and "recovery-completed" in kinds
    assert any(d["name"] == "Notfall-Laptop" and d["approver"] == "master-password"
               for d in devices.list_devices(admin)["devices"])

    # Throttle: 5 attempts per organisation and hour; the wrong ones above count as well.
    assert _wrong_proof(fresh).status == 401  # 4th
    assert _wrong_proof(fresh).status == 401  # 5th
    with pytest.raises(ApiError) as throttled:
        fresh.request("POST", "/api/v1/recovery/start", {"org": ORG, "origin": fresh.origin})
    assert throttled.value.status == 429 and throttled.value.retry_after
    assert len(mailbox.wait_for(4)) >= 4


def test_recovery_is_throttled_per_ip_also_for_unknown_organisations(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    client = new_client("x")
    for i in range(10):
        assert _wrong_proof(client, f"Unbekannt{i}").detail == AUTH_FAILED_MESSAGE
    with pytest.raises(ApiError) as throttled:
        client.request("POST", "/api/v1/recovery/start", {"org": "NochEine", "origin": client.origin})
    assert throttled.value.status == 429


def test_master_password_change_and_master_password_approval_of_a_pending_device(
        server: LiveServer, new_client: Callable[[str], Client], mailbox: MailBox) -> None:
    admin = admin_client(new_client)
    with pytest.raises(ApiError) as weak:
        users.change_master(admin, MASTER_PASSWORD, "kurz")
    assert weak.value.status == 400
    with pytest.raises(ApiError) as wrong_old:
        users.change_master(admin, "Nicht das Masterpasswort 42!", NEW_MASTER)
    assert wrong_old.value.status == 400
    second = approved_device(admin, new_client, "Laptop zuhause")
    assert users.change_master(admin, MASTER_PASSWORD, NEW_MASTER) >= 1
    assert any("Masterpasswort geändert" in m["Subject"] for m in mailbox.wait_for(1))
    with pytest.raises(ApiError) as other_session:  # the user's other sessions ended
        second.whoami()
    assert other_session.value.status == 401
    assert admin.whoami()["role"] == "admin"

    # A pending device approves itself with the (new) master password; the old one no longer works.
    b = new_client("sprechzimmer-1")
    devices.enroll(b, ORG, ADMIN, PASSWORD, "Sprechzimmer 1")
    with pytest.raises(ApiError) as old:
        recover(b, ORG, MASTER_PASSWORD)
    assert old.value.status == 401
    recover(b, ORG, NEW_MASTER)
    session = b.login(ORG, ADMIN, PASSWORD)  # the password was not touched
    assert session.keyring.data_keys == admin.session.keyring.data_keys  # type: ignore[union-attr]
    listed = {d["name"]: d for d in devices.list_devices(admin)["devices"]}
    assert listed["Sprechzimmer 1"]["status"] == "approved"
    assert listed["Sprechzimmer 1"]["approver"] == "master-password"


class _LegacyRegistration(Client):
    """Registers like the client before the master-key certificate existed."""

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, auth: bool = False) -> Any:
        if path == "/api/v1/registrations" and body is not None:
            body["crypto"]["master"].pop("cert")
        return super().request(method, path, body, auth)


def test_rotation_needs_org_vouched_master_keys_which_a_recovery_adds(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    legacy_admin = _LegacyRegistration(server.url, new_client("admin").store)
    register(legacy_admin)
    legacy_admin.login(ORG, ADMIN, PASSWORD)
    b = approved_device(legacy_admin, new_client, "Sprechzimmer 1")
    assert b.session is not None
    with pytest.raises(TamperingDetected) as unvouched:
        devices.revoke(legacy_admin, b.session.device_id)
    assert str(unvouched.value) == devices.MSG_MP_KEYS
    recover(new_client("rescue"), ORG, MASTER_PASSWORD, "Notfall")  # the recovering client vouches for them
    assert devices.revoke(legacy_admin, b.session.device_id).version == 2
    legacy_admin.close()


def test_strangers_cannot_lock_the_practice_out_of_recovery(
        server: LiveServer, new_client: Callable[[str], Client], mailbox: MailBox) -> None:
    """Five failed attempts from five networks close recovery for the organisation (the limit against guessing
    stays), but every alarm mail carries a one-time code that lets the owner's next attempt through."""
    admin_client(new_client)
    services = server.container.services
    stranger = DeviceKeys.from_seed(random_bytes(32))
    pk = stranger.signing.verify_key.encode().hex()
    for i in range(5):
        ip = f"198.51.{i}.7"
        challenge = recovery.start(services, ORG, server.url, ip)
        with pytest.raises(AuthFailed):
            recovery.finish(services, challenge.challenge_id, f"dev-{i}", "Unbekannt", pk, pk, b"\x01" * 64,
                            b"\x02" * 64, ip)
    alarms = [m for m in mailbox.wait_for(5) if "Fehlgeschlagener Versuch" in m["Subject"]]
    assert len(alarms) == 5
    codes = [re.search(r"--unlock ([0-9a-f]{32})", str(m.get_content())).group(1) for m in alarms]  # type: ignore[union-attr]
    assert len(set(codes)) == 5

    owner = new_client("notfall-laptop")
    with pytest.raises(ApiError) as locked:  # the owner is locked out like everybody else …
        recover(owner, ORG, MASTER_PASSWORD, "Notfall-Laptop")
    assert locked.value.status == 429
    with pytest.raises(ApiError) as forged:  # … a made-up code does not help …
        recover(owner, ORG, MASTER_PASSWORD, "Notfall-Laptop", unlock="0" * 32)
    assert forged.value.status == 429

    done = recover(owner, ORG, MASTER_PASSWORD, "Notfall-Laptop", ADMIN, NEW_PASSWORD, unlock=codes[-1])
    assert done.user_short == ADMIN  # … the mailed code lets the owner through
    assert owner.login(ORG, ADMIN, NEW_PASSWORD).role == "admin"

    again = new_client("zweiter-versuch")
    with pytest.raises(ApiError) as used:  # once only
        recover(again, ORG, MASTER_PASSWORD, "Noch ein Gerät", unlock=codes[-1])
    assert used.value.status == 429


def test_a_recovery_shows_the_org_signed_keyring_version_and_date(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    """§8a.11: every rotation signs a keyring head that travels with the mp grant; the recovering device
    checks it and shows version and date, so a server replaying an older keyring is noticed."""
    admin = admin_client(new_client)
    b = approved_device(admin, new_client, "Sprechzimmer 1")
    assert b.session is not None
    devices.revoke(admin, b.session.device_id)
    head = server.container.services.events.get(UUID(admin.session.org_id)).mp_grants[2]["head"]  # type: ignore
    assert head["version"] == 2

    def strip_head(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/recovery/finish":
            body["mp_grant"].pop("head", None)
        return body

    def forge_date(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/recovery/finish":
            body["mp_grant"]["head"]["rotated_at"] = "2030-01-01T00:00:00+00:00"
        return body

    for rewrite in (strip_head, forge_date):
        with pytest.raises(TamperingDetected) as warned:
            recover(tampered_client(new_client("rescue-" + rewrite.__name__), rewrite), ORG, MASTER_PASSWORD)
        assert str(warned.value).startswith("Sicherheitswarnung")
    done = recover(new_client("rescue"), ORG, MASTER_PASSWORD, "Notfall")
    assert done.keyring.version == 2 and done.rotated_at == head["rotated_at"]
    assert re.fullmatch(r"Schlüsselbund Version 2 vom \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr", done.keyring_stand())


def test_a_rotation_without_a_valid_keyring_head_is_refused(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    b = approved_device(admin, new_client, "Sprechzimmer 1")
    assert b.session is not None

    class ForgedHead(Client):
        def request(self, method: str, path: str, body: dict[str, Any] | None = None, auth: bool = False) -> Any:
            if path.endswith("/revoke") and body is not None:
                body["rotation"]["mp_grant"]["head"]["rotated_at"] = "2020-01-01T00:00:00+00:00"
            return super().request(method, path, body, auth)

    forged = ForgedHead(admin.origin, admin.store)
    forged.session = admin.session
    with pytest.raises(ApiError) as refused:
        devices.revoke(forged, b.session.device_id)
    assert refused.value.status == 400
    assert next(d for d in devices.list_devices(admin)["devices"]
                if d["device_id"] == b.session.device_id)["status"] == "approved"
