"""Arbeitsplätze/Endgeräte: enrolment with a pairing code, approval, rename, lock, unlock, revoke with
keyring rotation (design/crypto.md §4.4, §4.8). The server never sees a pairing code; it checks the org
signatures on certificates, grants and revocations against org_sign_pk, so it cannot inject a device."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from application import access_log
from application import fresh as fr
from application.access import Session, ip_prefix
from application.errors import AuthFailed, Conflict, Invalid, NotFound, NotPermitted, Throttled
from application.services import Services
from domain.base import short_name_key
from domain.device import Device
from domain.organisation import Organisation
from sprechzimmer_protocol import layouts as t

ENROLL_WINDOW, ENROLL_PER_ACCOUNT, ENROLL_PER_IP = 3600.0, 5, 10  # §4.3: per hour, no hard lock
MSG_APPROVE_ADMIN = "Nur Administratoren dürfen Geräte freigeben."
MSG_MANAGE_ADMIN = "Nur Administratoren dürfen Geräte verwalten."
MSG_CERT = "Das Gerätezertifikat ist nicht von der Organisation signiert."
MSG_GRANT = "Die Schlüsselfreigabe ist nicht von der Organisation signiert oder nicht aktuell."
MSG_OWN = "Das eigene, gerade benutzte Gerät kann hier nicht gesperrt oder entfernt werden."
MSG_NO_DEVICE = "Dieses Gerät gibt es in dieser Organisation nicht."
MSG_NO_TAG = "Das neue Gerät hat seinen Kopplungsnachweis noch nicht übermittelt."
MSG_HEAD = "Der Stand des Schlüsselbunds ist nicht von der Organisation signiert."
MSG_ROTATION = "Die neue Schlüsselbund-Version muss an alle verbleibenden Geräte und das Masterpasswort gehen."

_DUMMY = bytes(32)


@dataclass(frozen=True)
class Enrolled:
    org_id: str
    device_id: str
    status: str


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def _throttle(services: Services, key: str, limit: int, now: float) -> None:
    count, oldest = services.ephemeral.hits_since(key, now - ENROLL_WINDOW)
    if count >= limit and oldest is not None:
        raise Throttled(math.ceil(oldest + ENROLL_WINDOW - now))


def _pop_login_challenge(services: Services, challenge_id: str) -> tuple[Organisation | None, dict[str, Any]]:
    challenge = services.ephemeral.pop_challenge(challenge_id, "login", services.now())
    data = challenge or {"org": "", "user": "", "device_id": "", "origin": "", "nonce": "00" * 32}
    organisation = services.events.organisation_by_short_name(data["org"]) if challenge else None
    return organisation, data


def _password_and_device(services: Services, organisation: Organisation | None, data: dict[str, Any],
                         message: bytes, sig_pw: bytes, sig_dev: bytes, dev_sign_pk: bytes | None) -> bool:
    """Checks both signatures, always both, with stand-in keys for unknown names (equal work)."""
    c = services.crypto
    account = organisation.user(data["user"]) if organisation else None
    device_ok = c.verify(dev_sign_pk or _DUMMY, message, sig_dev)
    password_ok = c.verify(_b(account.pk_pw) if account else _DUMMY, message, sig_pw)
    return bool(organisation and account and account.active and device_ok and password_ok
                and dev_sign_pk is not None and data["origin"] in services.origins)


def enroll(services: Services, challenge_id: str, name: str, dev_sign_pk: str, dev_box_pk: str, sig_pw: bytes,
           sig_dev: bytes, ip: str) -> Enrolled:
    """Step 4 of §4.4 on the new device: password-authenticated; the device waits 24 h for approval."""
    now = services.now()
    ip_key = "enroll-ip:" + ip_prefix(ip)
    _throttle(services, ip_key, ENROLL_PER_IP, now)
    sign_pk, box_pk = _b(dev_sign_pk), _b(dev_box_pk)

    organisation, data = _pop_login_challenge(services, challenge_id)
    message = t.enroll(data["org"], data["user"], data["device_id"], name, sign_pk, box_pk, _b(data["nonce"]),
                       data["origin"])
    ok = _password_and_device(services, organisation, data, message, sig_pw, sig_dev, sign_pk)
    services.ephemeral.record_hit(ip_key, now)
    if not ok or organisation is None:
        raise AuthFailed()
    account_key = f"enroll-account:{organisation.org_id}:{short_name_key(data['user'])}"
    _throttle(services, account_key, ENROLL_PER_ACCOUNT, now)
    services.ephemeral.record_hit(account_key, now)
    if services.events.device(organisation.org_id, data["device_id"]) is not None:
        raise AuthFailed()  # a device id is enrolled once; the client draws a new one
    device = Device.enroll(organisation.org_id, data["device_id"], name, dev_sign_pk, dev_box_pk,
                           short_name_key(data["user"]), now)
    fr.save(services, device)
    access_log.note_for(services, organisation, "device-request", user=data["user"], device=name, ip=ip_prefix(ip))
    return Enrolled(str(organisation.org_id), device.device_id, device.status)


def attach_pairing_tag(services: Services, org: str, device_id: str, tag: str, sig: bytes,
                       invite_proof: str = "") -> None:
    """tag_B needs org_id, which the device learns from its enrolment answer; it signs it with its key.
    A device enrolled by an invite sends its invite proof along (§8a.10); it is kept with the waiting user."""
    organisation = services.events.organisation_by_short_name(org)
    device = services.events.device(organisation.org_id, device_id) if organisation else None
    if organisation is None or device is None or not services.crypto.verify(
            _b(device.dev_sign_pk), t.enroll_tag(str(organisation.org_id), device_id, _b(tag)), sig):
        raise AuthFailed()
    device.attach_pairing_tag(tag)
    if invite_proof and device.status == "pending":
        organisation.prove_invite(device.requested_by, invite_proof)
    fr.save(services, organisation, device)


def pending_status(services: Services, challenge_id: str, sig_pw: bytes, sig_dev: bytes, ip: str) -> str:
    """Lets a pending device that proved the right password say "Gerät wartet auf Freigabe" (§4.3).
    Every other case is the single AUTH_FAILED, and the login answer itself stays unchanged."""
    now = services.now()
    ip_key = "login-ip:" + ip_prefix(ip)
    organisation, data = _pop_login_challenge(services, challenge_id)
    device = services.events.device(organisation.org_id, data["device_id"]) if organisation else None
    message = t.enroll_status(data["org"], data["user"], data["device_id"], _b(data["nonce"]), data["origin"])
    ok = _password_and_device(services, organisation, data, message, sig_pw, sig_dev,
                              _b(device.dev_sign_pk) if device else None)
    if not ok or device is None or device.status != "pending" or device.is_stale(now) \
            or device.requested_by != short_name_key(data["user"]):
        services.ephemeral.record_hit(ip_key, now)
        raise AuthFailed()
    return "pending"


def _device(services: Services, fresh: fr.Fresh, device_id: str) -> Device:
    device = services.events.device(fresh.organisation.org_id, device_id)
    if device is None:
        raise NotFound(MSG_NO_DEVICE, "device_id")
    return device


def _verify_grant(services: Services, organisation: Organisation, recipient: str, grant: dict[str, Any],
                  version: int) -> None:
    if int(grant["version"]) != version or not services.crypto.verify(
            _b(organisation.org_sign_pk),
            t.keyring_grant(str(organisation.org_id), recipient, version, _b(grant["sealed"])),
            _b(grant["sig"])):
        raise Invalid(MSG_GRANT, "grant")


def _verify_cert(services: Services, organisation: Organisation, device: Device, name: str, cert: str,
                 approved_at: str, approver: str) -> None:
    message = t.device_cert(str(organisation.org_id), device.device_id, name,
                            _b(device.dev_sign_pk), _b(device.dev_box_pk), approved_at,
                            approver)
    if not services.crypto.verify(_b(organisation.org_sign_pk), message, _b(cert)):
        raise Invalid(MSG_CERT, "cert")


def approve(services: Services, session: Session, device_id: str, cert: str, approved_at: str,
            grant: dict[str, Any], approver_tag: str, proof: dict[str, str]) -> None:
    """§4.4 (a) steps 3–4: the approver already checked tag_B with the typed code; here the server checks
    that the certificate and the grant carry the org signature and that the request is pending and fresh."""
    f = fr.verify(services, session, proof, "device-approve", device_id)
    fr.require_admin(f, MSG_APPROVE_ADMIN)
    device = _device(services, f, device_id)
    now = services.now()
    if device.status == "pending" and not device.is_stale(now) and device.pairing_tag is None:
        raise Conflict(MSG_NO_TAG, "device_id")
    if device.status == "pending" and not device.is_stale(now):
        _verify_cert(services, f.organisation, device, device.name, cert, approved_at, session.device_id)
        _verify_grant(services, f.organisation, device_id, grant, f.organisation.keyring_version)
    device.approve(cert, approved_at, session.device_id, approver_tag, grant, now)  # refuses twice and stale
    fr.save(services, device)
    access_log.note_for(services, f.organisation, "device-approval", device=device.name, by=f.user.short_name)


def rename(services: Services, session: Session, device_id: str, name: str, cert: str,
           proof: dict[str, str]) -> None:
    """The name is inside the certificate, so a rename needs a new org signature."""
    f = fr.verify(services, session, proof, "device-rename", device_id)
    fr.require_admin(f, MSG_MANAGE_ADMIN)
    device = _device(services, f, device_id)
    if device.certified:
        _verify_cert(services, f.organisation, device, name, cert, device.approved_at, device.approver)
    device.rename(name, cert)
    fr.save(services, device)


def set_locked(services: Services, session: Session, device_id: str, locked: bool, proof: dict[str, str]) -> None:
    f = fr.verify(services, session, proof, "device-lock" if locked else "device-unlock", device_id)
    fr.require_admin(f, MSG_MANAGE_ADMIN)
    if device_id == session.device_id:
        raise NotPermitted(MSG_OWN, "device_id")
    device = _device(services, f, device_id)
    if locked:
        device.lock(f.user.key)
    else:
        device.unlock(f.user.key)
    fr.save(services, device)
    if locked:
        services.ephemeral.delete_device_sessions(session.org_id, device_id)


def revoke(services: Services, session: Session, device_id: str, revoked_at: str, revocation: str,
           rotation: dict[str, Any] | None, proof: dict[str, str], known_device_ids: list[str]) -> int:
    """§4.8: an org-signed revocation plus keyring v+1, granted to every remaining certified device and to
    mp_box_pk, saved atomically; the revoked device's grants are deleted. Returns the keyring version.
    A request that was never approved is simply rejected (revoked without rotation)."""
    f = fr.verify(services, session, proof, "device-revoke", device_id)
    fr.require_admin(f, MSG_MANAGE_ADMIN)
    if device_id == session.device_id:
        raise NotPermitted(MSG_OWN, "device_id")
    organisation = f.organisation
    device = _device(services, f, device_id)
    if not services.crypto.verify(_b(organisation.org_sign_pk),
                                  t.revocation(str(organisation.org_id), device_id, revoked_at), _b(revocation)):
        raise Invalid("Der Widerruf ist nicht von der Organisation signiert.", "revocation")
    had_keys = device.certified
    device.revoke(f.user.key, revocation)
    if not had_keys:  # a pending or expired request never received a grant: rejecting it needs no rotation
        if rotation is not None:
            raise Conflict("Eine nie freigegebene Anfrage wird ohne neuen Schlüsselbund abgelehnt.", "rotation")
        fr.save(services, device)
        return organisation.keyring_version
    if rotation is None:
        raise Conflict(MSG_ROTATION, "rotation")

    version = organisation.keyring_version + 1
    remaining = {d.device_id: d for d in _certified_devices(services, organisation, known_device_ids)
                 if d.device_id != device_id}
    grants: dict[str, dict[str, Any]] = rotation["grants"]
    if int(rotation["version"]) != version or set(grants) != set(remaining):
        raise Conflict(MSG_ROTATION, "rotation")
    for recipient, grant in grants.items():
        _verify_grant(services, organisation, recipient, {"version": version, **grant}, version)
        remaining[recipient].add_grant({"version": version, **grant})
    mp_grant = {"version": version, **rotation["mp_grant"]}
    _verify_grant(services, organisation, "mp", mp_grant, version)
    head = mp_grant["head"]
    if int(head["version"]) != version or not services.crypto.verify(
            _b(organisation.org_sign_pk), t.keyring_head(str(organisation.org_id), version, head["rotated_at"]),
            _b(head["sig"])):
        raise Invalid(MSG_HEAD, "rotation.mp_grant.head")
    organisation.rotate_keyring(version, mp_grant, "revocation")
    fr.save(services, device, organisation, *remaining.values())
    services.ephemeral.delete_device_sessions(session.org_id, device_id)
    return version


def _certified_devices(services: Services, organisation: Organisation, device_ids: list[str]) -> list[Device]:
    """The certified devices among the organisation's devices (ids from the device read model); each is
    loaded from the event store, which decides who receives the new keyring."""
    devices = [services.events.device(organisation.org_id, device_id) for device_id in device_ids]
    return [d for d in devices if d is not None and d.certified]
