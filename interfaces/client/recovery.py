"""Client side of Masterpasswort-Wiederherstellung (design/crypto.md §4.7) and of master-password
approval of this device (§4.4 b). The anchor, a MAC under a key only the master password yields,
authenticates the organisation key with no other trust root; the keyring then comes from the mp grant."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import policy
from sprechzimmer_protocol import primitives as p
from sprechzimmer_protocol.keyring import KeyringHead
from sprechzimmer_protocol.keys import DeviceKeys, master_keys
from sprechzimmer_protocol.names import short_name_key
from sprechzimmer_protocol.values import DeviceCertificate, MasterKeyParams, UserCertificate

from .devices import new_device, now_iso
from .keystore import DeviceRecord
from .sdk import ApiError, Client, Keyring, TamperingDetected, open_grant
from .users import new_password

MSG_ANCHOR = ("Der Organisationsschlüssel des Servers passt nicht zum Masterpasswort (Anker ungültig). "
              "Vorgang abgebrochen.")
MSG_NO_USER = "Diesen Benutzer gibt es in dieser Organisation nicht."
MSG_HEAD = ("Sicherheitswarnung: Der Stand des Schlüsselbunds ist nicht von der Organisation signiert oder passt "
            "nicht zur Freigabe. Vorgang abgebrochen.")
BERLIN = ZoneInfo("Europe/Berlin")


def keyring_head(org_id: str, keyring: Keyring, mp_grant: dict[str, Any]) -> KeyringHead | None:
    """The signed head the mp grant carries (§8a.11): required from version 2 on (every rotation signs one),
    its version must be the grant's."""
    try:
        head = KeyringHead.from_wire(org_id, mp_grant["head"]) if mp_grant.get("head") else None
    except (KeyError, ValueError, TypeError):
        raise TamperingDetected(MSG_HEAD) from None
    if head is None:
        if keyring.version > 1:
            raise TamperingDetected(MSG_HEAD)
        return None
    if head.version != keyring.version or not head.verifies(keyring.sign_pk):
        raise TamperingDetected(MSG_HEAD)
    return head


@dataclass(frozen=True)
class Recovered:
    org_id: str
    device_id: str
    keyring: Keyring
    user_short: str | None
    rotated_at: str | None = None  # from the org-signed keyring head (§8a.11); None for version 1

    def keyring_stand(self) -> str:
        """What the user sees after recovery, so an older keyring than they remember is noticed (§8a.11)."""
        if not self.rotated_at:
            return f"Schlüsselbund Version {self.keyring.version}"
        try:
            when = datetime.fromisoformat(self.rotated_at).astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M Uhr")
        except ValueError:
            when = self.rotated_at
        return f"Schlüsselbund Version {self.keyring.version} vom {when}"


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def recover(client: Client, org: str, master_password: str, device_name: str | None = None,
            user: str | None = None, new_password_text: str | None = None, unlock: str | None = None) -> Recovered:
    """Approves this device with the master password; with `user` and `new_password_text` also sets that
    user's new password. A device whose enrolment is pending keeps its keys and is approved as it is. `unlock`:
    the one-time code of an alarm mail, for when strangers' failed attempts have blocked recovery."""
    reset_pw = new_password(new_password_text, "new_password") if user and new_password_text else None
    if reset_pw is not None and new_password_text:
        client.store.unlock(new_password_text)
    record = client.store.device(client.origin, short_name_key(org))
    if record is not None and record.pinned_org_sign_pk is None:
        seed, device_id, name = _b(record.seed), record.device_id, record.name
        device = DeviceKeys.from_seed(seed)
    else:
        seed, device, device_id = new_device()
        name = device_name or "Wiederherstellung"
    sign_pk, box_pk = device.signing.verify_key.encode(), bytes(device.box.public_key)

    start: dict[str, str] = {"org": org, "origin": client.origin}
    if unlock:
        start["unlock"] = unlock.strip().lower()
    challenge = client.request("POST", "/api/v1/recovery/start", start)
    kdf, salt = challenge["kdf"], _b(challenge["salt"])
    try:
        policy.check_master_parameters(kdf["ops"], kdf["mem"], salt)
    except policy.WeakParameters as weak:
        raise TamperingDetected(str(weak)) from None
    mp = master_keys(master_password, salt, kdf["ops"], kdf["mem"])
    message = t.recovery(org, device_id, name, sign_pk, box_pk, _b(challenge["nonce"]), client.origin)
    result = client.request("POST", "/api/v1/recovery/finish", {
        "challenge_id": challenge["challenge_id"], "device_id": device_id, "name": name,
        "dev_sign_pk": sign_pk.hex(), "dev_box_pk": box_pk.hex(),
        "sig_mp": p.sign(mp.signing, message).hex(), "sig_dev": p.sign(device.signing, message).hex()})

    org_id, org_sign_pk = str(result["org_id"]), _b(result["org_sign_pk"])
    if not hmac.compare_digest(mp.anchor(org_id, org_sign_pk).hex(), str(result["master"]["anchor"])):
        raise TamperingDetected(MSG_ANCHOR)
    if record is not None and record.pinned_org_sign_pk and record.pinned_org_sign_pk != org_sign_pk.hex():
        raise TamperingDetected(MSG_ANCHOR)
    keyring = open_grant(result["mp_grant"], org_id, "mp", org_sign_pk, mp.box,
                         record.keyring_version if record else 0)
    head = keyring_head(org_id, keyring, result["mp_grant"])

    approved_at = now_iso()
    cert = DeviceCertificate(org_id, device_id, name, sign_pk, box_pk, approved_at, "master-password")
    master = MasterKeyParams(salt, kdf["ops"], kdf["mem"], mp.sign_pk, mp.box_pk, b"").certified(keyring)
    body: dict[str, object] = {"recovery_token": result["recovery_token"], "cert": cert.signed(keyring).sig.hex(),
                               "approved_at": approved_at, "grant": keyring.grant(device_id, box_pk).to_wire(),
                               "reset": None, "master_cert": master.cert.hex()}
    if user and reset_pw:
        role = next((u["role"] for u in result["users"] if short_name_key(u["user_short"]) == short_name_key(user)),
                    None)
        if role is None:
            raise ApiError(404, MSG_NO_USER, {"user": [MSG_NO_USER]})
        key = short_name_key(user)
        v = reset_pw.verifier
        body["reset"] = {
            "user_short": user, "password": reset_pw.body(),
            "cert": UserCertificate(org_id, key, role, v).signed(keyring).sig.hex(),
            "sig_new": p.sign(reset_pw.keys.signing, t.password_set(org_id, key, role, v.salt, v.ops, v.mem, v.pk_pw,
                                                                    _b(challenge["nonce"]))).hex(),
        }
    done = client.request("POST", "/api/v1/recovery/complete", body)
    client.store.save_device(DeviceRecord(
        origin=client.origin, org_key=short_name_key(org), org_id=org_id, device_id=device_id, name=name,
        seed=seed.hex(), pinned_org_sign_pk=org_sign_pk.hex(), keyring_version=keyring.version))
    return Recovered(org_id, device_id, keyring, done.get("user_short"), head.rotated_at if head else None)
