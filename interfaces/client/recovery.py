"""Client side of Masterpasswort-Wiederherstellung (design/crypto.md §4.7) and of master-password
approval of this device (§4.4 b). The anchor, a MAC under a key only the master password yields,
authenticates the organisation key with no other trust root; the keyring then comes from the mp grant."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from application import protocol as t
from domain.base import short_name_key
from infrastructure import crypto as c
from interfaces.client.devices import new_device, now_iso
from interfaces.client.keystore import DeviceRecord
from interfaces.client.sdk import ApiError, Client, Keyring, TamperingDetected, open_grant
from interfaces.client.users import new_password

MSG_ANCHOR = ("Der Organisationsschlüssel des Servers passt nicht zum Masterpasswort (Anker ungültig). "
              "Vorgang abgebrochen.")
MSG_NO_USER = "Diesen Benutzer gibt es in dieser Organisation nicht."


@dataclass(frozen=True)
class Recovered:
    org_id: str
    device_id: str
    keyring: Keyring
    user_short: str | None


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def recover(client: Client, org: str, master_password: str, device_name: str | None = None,
            user: str | None = None, new_password_text: str | None = None, unlock: str | None = None) -> Recovered:
    """Approves this device with the master password; with `user` and `new_password_text` also sets that
    user's new password. A device whose enrolment is pending keeps its keys and is approved as it is. `unlock`:
    the one-time code of an alarm mail, for when strangers' failed attempts have blocked recovery."""
    reset_pw = new_password(new_password_text, "new_password") if user and new_password_text else None
    record = client.store.device(client.origin, short_name_key(org))
    if record is not None and record.pinned_org_sign_pk is None:
        seed, device_id, name = _b(record.seed), record.device_id, record.name
        device = c.DeviceKeys.from_seed(seed)
    else:
        seed, device, device_id = new_device()
        name = device_name or "Wiederherstellung"
    sign_pk, box_pk = device.signing.verify_key.encode(), bytes(device.box.public_key)

    start: dict[str, str] = {"org": org, "origin": client.origin}
    if unlock:
        start["unlock"] = unlock.strip().lower()
    challenge = client.request("POST", "/api/v1/recovery/start", start)
    kdf, salt = challenge["kdf"], _b(challenge["salt"])
    if kdf["ops"] < c.MASTER_OPS or kdf["mem"] < c.MASTER_MEM or len(salt) != c.SALT_BYTES:
        raise TamperingDetected("Der Server verlangt zu schwache Parameter für die Schlüsselableitung.")
    mp = c.master_keys(master_password, salt, kdf["ops"], kdf["mem"])
    message = t.recovery(org, device_id, name, sign_pk, box_pk, _b(challenge["nonce"]), client.origin)
    result = client.request("POST", "/api/v1/recovery/finish", {
        "challenge_id": challenge["challenge_id"], "device_id": device_id, "name": name,
        "dev_sign_pk": sign_pk.hex(), "dev_box_pk": box_pk.hex(),
        "sig_mp": c.sign(mp.signing, message).hex(), "sig_dev": c.sign(device.signing, message).hex()})

    org_id, org_sign_pk = str(result["org_id"]), _b(result["org_sign_pk"])
    mp_sign_pk, mp_box_pk = mp.signing.verify_key.encode(), bytes(mp.box.public_key)
    anchor = c.mp_anchor(mp.anchor_key, org_id, org_sign_pk, mp_sign_pk, mp_box_pk)
    if not hmac.compare_digest(anchor.hex(), str(result["master"]["anchor"])):
        raise TamperingDetected(MSG_ANCHOR)
    if record is not None and record.pinned_org_sign_pk and record.pinned_org_sign_pk != org_sign_pk.hex():
        raise TamperingDetected(MSG_ANCHOR)
    keyring = open_grant(result["mp_grant"], org_id, "mp", org_sign_pk, mp.box,
                         record.keyring_version if record else 0)

    approved_at = now_iso()
    cert = c.sign(keyring.signing, c.device_cert_message(org_id, device_id, name, sign_pk, box_pk, approved_at,
                                                         "master-password"))
    body: dict[str, object] = {"recovery_token": result["recovery_token"], "cert": cert.hex(),
                               "approved_at": approved_at, "grant": keyring.grant(device_id, box_pk), "reset": None,
                               "master_cert": c.sign(keyring.signing,
                                                     t.master_keys_cert(org_id, mp_sign_pk, mp_box_pk)).hex()}
    if user and reset_pw:
        role = next((u["role"] for u in result["users"] if short_name_key(u["user_short"]) == short_name_key(user)),
                    None)
        if role is None:
            raise ApiError(404, MSG_NO_USER, {"user": [MSG_NO_USER]})
        key = short_name_key(user)
        pk = reset_pw.pk
        body["reset"] = {
            "user_short": user, "password": reset_pw.body(),
            "cert": c.sign(keyring.signing, c.user_cert_message(org_id, key, role, reset_pw.salt, c.PASSWORD_OPS,
                                                                c.PASSWORD_MEM, pk)).hex(),
            "sig_new": c.sign(reset_pw.keys.signing, t.password_set(org_id, key, role, reset_pw.salt, c.PASSWORD_OPS,
                                                                    c.PASSWORD_MEM, pk,
                                                                    _b(challenge["nonce"]))).hex(),
        }
    done = client.request("POST", "/api/v1/recovery/complete", body)
    client.store.save_device(DeviceRecord(
        origin=client.origin, org_key=short_name_key(org), org_id=org_id, device_id=device_id, name=name,
        seed=seed.hex(), pinned_org_sign_pk=org_sign_pk.hex(), keyring_version=keyring.version))
    return Recovered(org_id, device_id, keyring, done.get("user_short"))
