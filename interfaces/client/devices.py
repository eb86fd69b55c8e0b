"""Client side of Arbeitsplätze/Endgeräte (design/crypto.md §4.4, §4.8): enrolment with a pairing code,
approval that checks the new device's keys by MAC, the approver tag the new device checks before pinning
the organisation key, rename/lock/unlock, and revocation with keyring rotation. Grants go only to devices
whose certificate verifies against the pinned organisation key."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sprechzimmer_protocol import codes, policy
from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import primitives as p
from sprechzimmer_protocol.keyring import Keyring
from sprechzimmer_protocol.keys import (
    DeviceKeys,
    pairing_key,
    pairing_tag_approver,
    pairing_tag_new_device,
    password_keys,
)
from sprechzimmer_protocol.names import short_name_key
from sprechzimmer_protocol.values import DeviceCertificate, MasterKeyParams

from .keystore import DeviceRecord
from .sdk import MSG_TAMPERED, ApiError, Client, LoggedIn, TamperingDetected

MSG_WAITING = "Gerät wartet auf Freigabe. Bitte an einem freigegebenen Gerät den Kopplungscode eingeben lassen."
MSG_PAIRING = ("Der Kopplungscode passt nicht zu den Schlüsseln des neuen Geräts. Bitte den Code prüfen; stimmt er, "
               "wurde die Anfrage unterwegs verändert – dann nicht freigeben.")
MSG_ORG_KEY = ("Der Organisationsschlüssel passt nicht zum Kopplungscode: der Server hat ihn womöglich ausgetauscht. "
               "Vorgang abgebrochen.")
MSG_CODE_FORMAT = "Der Kopplungscode hat 12 Zeichen (XXXX-XXXX-XXXX)."
MSG_NOT_PENDING = "Dieses Gerät wartet nicht (mehr) auf Freigabe."
MSG_LOGIN_FIRST = "Bitte zuerst an einem freigegebenen Gerät anmelden."
MSG_MP_KEYS = ("Die Schlüssel des Masterpassworts sind nicht von der Organisation bestätigt; der Schlüsselbund wird "
               "nicht an sie vergeben. Vorgang abgebrochen.")
MSG_ENROLLED = "Dieses Gerät ist für diese Organisation bereits eingerichtet."


@dataclass(frozen=True)
class Enrollment:
    org_id: str
    device_id: str
    pairing_code: str  # shown on this device only, typed by the approver


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def logged_in(client: Client) -> LoggedIn:
    if client.session is None:
        raise ApiError(401, MSG_LOGIN_FIRST)
    return client.session


def own_record(client: Client) -> DeviceRecord:
    session = logged_in(client)
    record = client.store.device(client.origin, short_name_key(session.org_short))
    if record is None:
        raise ApiError(400, MSG_LOGIN_FIRST)
    return record


def proof(client: Client, action: str, target: str) -> tuple[dict[str, str], bytes, dict[str, Any]]:
    """A fresh device signature over a fresh server nonce, bound to the action and its target (§4.2)."""
    session, record = logged_in(client), own_record(client)
    challenge = client.request("POST", "/api/v1/auth/fresh", {"origin": client.origin}, auth=True)
    nonce = _b(challenge["nonce"])
    device = DeviceKeys.from_seed(_b(record.seed))
    sig = p.sign(device.signing, t.sensitive(session.org_id, record.device_id, action, target, nonce, client.origin))
    return {"challenge_id": challenge["challenge_id"], "sig": sig.hex()}, nonce, challenge


def new_device() -> tuple[bytes, DeviceKeys, str]:
    seed = p.random_bytes(32)
    return seed, DeviceKeys.from_seed(seed), "dev-" + p.random_bytes(8).hex()


def send_pairing_tag(client: Client, org: str, org_id: str, device_id: str, name: str, device: DeviceKeys,
                     code: str, invite_proof: bytes = b"") -> None:
    """tag_B = MAC over this device's keys under the pairing key (Argon2id of the code, §4.4 step 3).
    After an invite the proof of the invite code goes along (§8a.10): only now is org_id known."""
    k_pair = pairing_key(code, org_id, device_id)
    tag = pairing_tag_new_device(k_pair, org_id, device_id, name, device.signing.verify_key.encode(),
                                   bytes(device.box.public_key))
    sig = p.sign(device.signing, t.enroll_tag(org_id, device_id, tag))
    body = {"org": org, "device_id": device_id, "tag": tag.hex(), "sig": sig.hex()}
    if invite_proof:
        body["invite_proof"] = invite_proof.hex()
    client.request("POST", "/api/v1/devices/enroll/tag", body)


def password_challenge(client: Client, org: str, user: str, device_id: str) -> dict[str, Any]:
    challenge: dict[str, Any] = client.request(
        "POST", "/api/v1/auth/start", {"org": org, "user": user, "device_id": device_id, "origin": client.origin})
    kdf = challenge["kdf"]
    try:
        policy.check_password_parameters(kdf["ops"], kdf["mem"], _b(challenge["salt"]))
    except policy.WeakParameters as weak:
        raise TamperingDetected(str(weak)) from None
    return challenge


def enroll(client: Client, org: str, user: str, password: str, name: str) -> Enrollment:
    """§4.4 on the new device: request approval with the user's password; returns the pairing code."""
    client.store.unlock(password)  # wraps (or reads) the device seed where no OS keyring or passphrase exists
    existing = client.store.device(client.origin, short_name_key(org))
    if existing is not None and existing.pinned_org_sign_pk:
        raise ApiError(400, MSG_ENROLLED)
    seed, device, device_id = new_device()
    code = codes.new_code()
    challenge = password_challenge(client, org, user, device_id)
    pw = password_keys(password, _b(challenge["salt"]), challenge["kdf"]["ops"], challenge["kdf"]["mem"])
    message = t.enroll(org, user, device_id, name, device.signing.verify_key.encode(), bytes(device.box.public_key),
                       _b(challenge["nonce"]), client.origin)
    result = client.request("POST", "/api/v1/devices/enroll", {
        "challenge_id": challenge["challenge_id"], "name": name,
        "dev_sign_pk": device.signing.verify_key.encode().hex(), "dev_box_pk": bytes(device.box.public_key).hex(),
        "sig_pw": p.sign(pw.signing, message).hex(), "sig_dev": p.sign(device.signing, message).hex(),
    })
    org_id = str(result["org_id"])
    send_pairing_tag(client, org, org_id, device_id, name, device, code)
    enroll_record(client, org, org_id, device_id, name, seed, code)
    return Enrollment(org_id, device_id, code)


def enroll_record(client: Client, org: str, org_id: str, device_id: str, name: str, seed: bytes,
                  code: str) -> None:
    """Pending: no pinned org key yet; the pairing code stays until the first login checks tag_A."""
    client.store.save_device(DeviceRecord(
        origin=client.origin, org_key=short_name_key(org), org_id=org_id, device_id=device_id, name=name,
        seed=seed.hex(), pinned_org_sign_pk=None, keyring_version=0, pairing_code=code))


def explain_pending(client: Client, org: str, user: str, record: DeviceRecord, password: str) -> None:
    """After the single 401: if this device's enrolment is pending and the password is right, say so."""
    try:
        challenge = password_challenge(client, org, user, record.device_id)
        pw = password_keys(password, _b(challenge["salt"]), challenge["kdf"]["ops"], challenge["kdf"]["mem"])
        device = DeviceKeys.from_seed(_b(record.seed))
        message = t.enroll_status(org, user, record.device_id, _b(challenge["nonce"]), client.origin)
        status = client.request("POST", "/api/v1/devices/enroll/status", {
            "challenge_id": challenge["challenge_id"], "sig_pw": p.sign(pw.signing, message).hex(),
            "sig_dev": p.sign(device.signing, message).hex()})
    except ApiError:
        return
    if status.get("status") == "pending":
        raise ApiError(401, MSG_WAITING)


def pin_after_approval(record: DeviceRecord, result: dict[str, Any]) -> str:
    """§4.4 step 5: the first login checks tag_A over the org key before pinning it."""
    if not record.pairing_code or not result.get("approver_tag") or str(result.get("org_id")) != record.org_id:
        raise TamperingDetected(MSG_ORG_KEY)
    k_pair = pairing_key(record.pairing_code, record.org_id, record.device_id)
    expected = pairing_tag_approver(k_pair, record.org_id, record.device_id, _b(result["org_sign_pk"]))
    if not hmac.compare_digest(expected.hex(), str(result["approver_tag"])):
        raise TamperingDetected(MSG_ORG_KEY)
    return str(result["org_sign_pk"])


def list_devices(client: Client) -> dict[str, Any]:
    listing: dict[str, Any] = client.request("GET", "/api/v1/devices", auth=True)
    return listing


def notices(client: Client) -> list[dict[str, Any]]:
    return list(client.request("GET", "/api/v1/notices", auth=True)["notices"])


def _find(client: Client, device_id: str) -> dict[str, Any]:
    for device in list_devices(client)["devices"]:
        if device["device_id"] == device_id:
            return dict(device)
    raise ApiError(404, "Dieses Gerät gibt es in dieser Organisation nicht.")


def _cert(keyring: Keyring, org_id: str, device: dict[str, Any], name: str, approved_at: str, approver: str) -> str:
    cert = DeviceCertificate(org_id, device["device_id"], name, _b(device["dev_sign_pk"]), _b(device["dev_box_pk"]),
                             approved_at, approver)
    return cert.signed(keyring).sig.hex()


def approve(client: Client, device_id: str, code: str) -> None:
    """§4.4 (a): the approver types the code shown on the new device. A tag mismatch (wrong code or keys
    swapped by the server) is refused here, before anything is signed or sent."""
    session = logged_in(client)
    keyring, org_id = session.keyring, session.org_id
    device = _find(client, device_id)
    if device["status"] != "pending":
        raise ApiError(409, MSG_NOT_PENDING)
    try:
        k_pair = pairing_key(code, org_id, device_id)
    except ValueError:
        raise ApiError(400, MSG_CODE_FORMAT, {"code": [MSG_CODE_FORMAT]}) from None
    expected = pairing_tag_new_device(k_pair, org_id, device_id, device["name"], _b(device["dev_sign_pk"]),
                                        _b(device["dev_box_pk"]))
    if not device.get("pairing_tag") or not hmac.compare_digest(expected.hex(), str(device["pairing_tag"])):
        raise TamperingDetected(MSG_PAIRING)
    from .users import MSG_INVITE_ELSEWHERE, certificates_to_sign, send_certificates

    # Invited users' proofs are checked before anything is approved (§8a.10): a forged pk_pw stops it here.
    certificates = certificates_to_sign(client)
    requester = next((u for u in client.request("GET", "/api/v1/users", auth=True)["users"]
                      if short_name_key(u["user_short"]) == device.get("requested_by")), None)
    if requester is not None and not requester["certified"] and \
            requester["user_short"] not in {short for short, _ in certificates}:
        raise ApiError(409, MSG_INVITE_ELSEWHERE)
    approved_at = now_iso()
    sent, _, _ = proof(client, "device-approve", device_id)
    client.request("POST", f"/api/v1/devices/{device_id}/approve", {
        "cert": _cert(keyring, org_id, device, device["name"], approved_at, session.device_id),
        "approved_at": approved_at, "grant": keyring.grant(device_id, _b(device["dev_box_pk"])).to_wire(),
        "grant_version": keyring.version,
        "approver_tag": pairing_tag_approver(k_pair, org_id, device_id, keyring.sign_pk).hex(), "proof": sent,
    }, auth=True)
    send_certificates(client, certificates)  # an invited user enrolling this device is certified now


def rename(client: Client, device_id: str, name: str) -> None:
    session = logged_in(client)
    device = _find(client, device_id)
    cert = _cert(session.keyring, session.org_id, device, name, device["approved_at"] or "", device["approver"] or "")
    sent, _, _ = proof(client, "device-rename", device_id)
    client.request("POST", f"/api/v1/devices/{device_id}/rename", {"name": name, "cert": cert, "proof": sent},
                   auth=True)


def set_locked(client: Client, device_id: str, locked: bool) -> None:
    action = "lock" if locked else "unlock"
    sent, _, _ = proof(client, "device-" + action, device_id)
    client.request("POST", f"/api/v1/devices/{device_id}/{action}", {"proof": sent}, auth=True)


def certified_devices(client: Client, keyring: Keyring, org_id: str) -> list[dict[str, Any]]:
    """Devices whose certificate verifies against the organisation key: the server cannot add one."""
    out = []
    for device in list_devices(client)["devices"]:
        if device["status"] not in ("approved", "locked") or not device.get("cert"):
            continue
        if DeviceCertificate.from_wire(org_id, device).verifies(keyring.sign_pk):
            out.append(device)
    return out


def revoke(client: Client, device_id: str) -> Keyring:
    """§4.8: signed revocation, then keyring v+1 with a new data key (older keys kept) for every remaining
    certified device and the master-password key. Returns the new keyring, which this client now uses."""
    session = logged_in(client)
    old, org_id = session.keyring, session.org_id
    if _find(client, device_id)["status"] in ("pending", "expired"):  # never had keys: reject the request
        revoked_at = now_iso()
        sent, _, _ = proof(client, "device-revoke", device_id)
        client.request("POST", f"/api/v1/devices/{device_id}/revoke", {
            "revoked_at": revoked_at, "proof": sent,
            "revocation": p.sign(old.signing, t.revocation(org_id, device_id, revoked_at)).hex()}, auth=True)
        return old
    remaining = [d for d in certified_devices(client, old, org_id) if d["device_id"] != device_id]
    master = client.request("GET", "/api/v1/masterpassword", auth=True)
    if not MasterKeyParams.from_wire(master).cert_verifies(org_id, old.sign_pk):
        raise TamperingDetected(MSG_MP_KEYS)  # never seal the keyring to a key the org did not vouch for
    new = old.rotated()
    revoked_at = now_iso()
    sent, _, _ = proof(client, "device-revoke", device_id)
    result = client.request("POST", f"/api/v1/devices/{device_id}/revoke", {
        "revoked_at": revoked_at,
        "revocation": p.sign(old.signing, t.revocation(org_id, device_id, revoked_at)).hex(),
        "rotation": {"version": new.version,
                     # the head of the new version travels with the mp grant (§8a.11)
                     "mp_grant": {**new.grant("mp", _b(master["box_pk"])).to_wire(),
                                  "head": new.head(revoked_at).to_wire()},
                     "grants": {d["device_id"]: new.grant(d["device_id"], _b(d["dev_box_pk"])).to_wire()
                                for d in remaining}},
        "proof": sent,
    }, auth=True)
    if int(result["keyring_version"]) != new.version:
        raise TamperingDetected(MSG_TAMPERED)
    session.keyring = new
    record = own_record(client)
    record.keyring_version = new.version
    client.store.save_device(record)
    return new
