"""Masterpasswort-Wiederherstellung (design/crypto.md §4.7) and master-password approval of a device
(§4.4 b): on a fresh or pending device, with only the organisation short name and the master password.

Throttled per organisation (5 per hour, 20 per day) and per IP (10 per day); every attempt, failed or
successful, is recorded as a notice shown on all devices and mailed to the organisation's admins.

Strangers must not be able to lock the practice out with five wrong attempts: every alarm mail about a failed
attempt carries a one-time unlock code (stored only as a hash, valid 24 hours). The owner passes it to the next
`recovery/start` (`sprechzimmer recover --unlock CODE`); that one attempt is exempt from the per-organisation
limits (the per-IP limit still applies). The code is used up by that start, whatever its outcome."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application import access_log
from application import fresh as fr
from application.access import ip_prefix
from application.devices import MSG_CERT, MSG_GRANT
from application.errors import AuthFailed, Conflict, Invalid, Throttled
from application.notify import mail_admins
from application.retention import seal_metadata
from application.services import Services
from application.users import NewPassword, _verify_possession, _verify_user_cert
from domain.base import short_name_key
from domain.device import Device
from domain.organisation import Organisation
from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import policy

HOUR, DAY = 3600.0, 86400.0
LIMITS = (("org", HOUR, 5), ("org", DAY, 20), ("ip", DAY, 10))
SESSION_TTL = 600.0
UNLOCK_TTL = DAY
UNLOCK = "recovery-unlock"
MASTER_KDF = {"alg": "argon2id13", "ops": policy.MASTER_OPS, "mem": policy.MASTER_MEM}
APPROVER = "master-password"
_DUMMY = bytes(32)

OUTCOME_TEXT = {
    "failed": "Fehlgeschlagener Versuch, sich mit dem Masterpasswort anzumelden",
    "succeeded": "Anmeldung mit dem Masterpasswort",
    "completed": "Gerät mit dem Masterpasswort freigegeben",
}


@dataclass(frozen=True)
class RecoveryChallenge:
    challenge_id: str
    nonce: str
    salt: str
    kdf: dict[str, Any]


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def _keys(org_key: str, ip: str) -> dict[str, str]:
    return {"org": "recovery-org:" + org_key, "ip": "recovery-ip:" + ip_prefix(ip)}


def _check_throttle(services: Services, org_key: str, ip: str, now: float, unlocked: bool = False) -> None:
    keys = _keys(org_key, ip)
    for kind, window, limit in LIMITS:
        if unlocked and kind == "org":
            continue
        count, oldest = services.ephemeral.hits_since(keys[kind], now - window)
        if count >= limit and oldest is not None:
            raise Throttled(math.ceil(oldest + window - now))


def _unlock_id(services: Services, code: str) -> str:
    return services.crypto.h("vdc/v1/recovery-unlock", code.strip().lower()).hex()


def _issue_unlock(services: Services, org_key: str, now: float) -> str:
    code = services.crypto.random_bytes(16).hex()
    services.ephemeral.put_challenge(_unlock_id(services, code), UNLOCK, {"org": org_key}, now + UNLOCK_TTL)
    return code


def _use_unlock(services: Services, code: str | None, org_key: str, now: float) -> bool:
    """True if `code` is a valid, unused unlock code of this organisation; it is used up either way."""
    if not code:
        return False
    data = services.ephemeral.pop_challenge(_unlock_id(services, code), UNLOCK, now)
    return data is not None and data.get("org") == org_key


def start(services: Services, org: str, origin: str, ip: str, unlock: str | None = None) -> RecoveryChallenge:
    """Unknown organisations get a deterministic fake salt: nobody learns which short names exist."""
    now = services.now()
    org_key = short_name_key(org)
    unlocked = _use_unlock(services, unlock, org_key, now)
    _check_throttle(services, org_key, ip, now, unlocked)
    organisation = services.events.organisation_by_short_name(org)
    if organisation is not None:
        m = organisation.master
        salt, kdf = m["salt"], {"alg": "argon2id13", "ops": m["ops"], "mem": m["mem"]}
    else:
        salt, kdf = services.crypto.fake_salt(services.fake_salt_key, org_key, "\x00master").hex(), MASTER_KDF
    challenge_id = services.crypto.random_bytes(16).hex()
    nonce = services.crypto.random_bytes(32).hex()
    services.ephemeral.put_challenge(challenge_id, "recovery", {"org": org, "origin": origin, "nonce": nonce,
                                                                "unlocked": unlocked}, now + 120.0)
    return RecoveryChallenge(challenge_id, nonce, salt, kdf)


def _notice(services: Services, organisation: Organisation, outcome: str, device_name: str, ip: str) -> None:
    """Recorded even while other changes race: a notice is retried once on a concurrent save."""
    access_log.note_for(services, organisation, "recovery-" + outcome, device=device_name, ip=ip_prefix(ip))
    for _ in range(2):
        current = services.events.get(organisation.org_id)
        if not isinstance(current, Organisation):
            return
        # the prefix must not outlive retention in the event log: sealed under its month's key (retention.py)
        current.notice_recovery(outcome, device_name, services.now(), seal_metadata(services, ip_prefix(ip)))
        try:
            fr.save(services, current)
            break
        except Conflict:
            continue
    if outcome != "completed":
        unlock = ""
        if outcome == "failed":
            code = _issue_unlock(services, short_name_key(organisation.short_name), services.now())
            unlock = ("\nSind Sie selbst nach Fehlversuchen (auch fremden) vorübergehend gesperrt? Dieser Einmal-Code "
                      "lässt Ihren nächsten Versuch trotzdem zu (24 Stunden gültig, nur einmal verwendbar):\n\n"
                      f"    {code}\n\n"
                      f"Im Programm: sprechzimmer recover --org {organisation.short_name} --unlock {code}\n")
        mail_admins(services, organisation, "Sprechzimmer: " + OUTCOME_TEXT[outcome],
                    f"{OUTCOME_TEXT[outcome]} bei der Organisation {organisation.short_name} "
                    f"(Gerätename „{device_name}“, Netz {ip_prefix(ip)}).\n"
                    "War das nicht Ihre Praxis, ändern Sie bitte sofort das Masterpasswort und prüfen Sie die "
                    "Geräteliste (Stammdaten → Arbeitsplätze/Endgeräte).\n" + unlock)


def finish(services: Services, challenge_id: str, device_id: str, name: str, dev_sign_pk: str, dev_box_pk: str,
           sig_mp: bytes, sig_dev: bytes, ip: str) -> dict[str, Any]:
    """§4.7 step 4: checks k_mp_sign and the device key; answers with what the client needs to verify
    the organisation key itself (anchor) and to open the mp grant. Any failure is the single 401."""
    now = services.now()
    c = services.crypto
    challenge = services.ephemeral.pop_challenge(challenge_id, "recovery", now)
    data = challenge or {"org": "", "origin": "", "nonce": "00" * 32}
    org_key = short_name_key(data["org"])
    if challenge:
        _check_throttle(services, org_key, ip, now, bool(data.get("unlocked")))
    organisation = services.events.organisation_by_short_name(data["org"]) if challenge else None
    message = t.recovery(data["org"], device_id, name, _b(dev_sign_pk), _b(dev_box_pk), _b(data["nonce"]),
                         data["origin"])
    master_ok = c.verify(_b(organisation.master["sign_pk"]) if organisation else _DUMMY, message, sig_mp)
    device_ok = c.verify(_b(dev_sign_pk), message, sig_dev)
    existing = services.events.device(organisation.org_id, device_id) if organisation else None
    device_fits = existing is None or (existing.status == "pending" and existing.dev_sign_pk == dev_sign_pk
                                       and existing.dev_box_pk == dev_box_pk and not existing.is_stale(now))
    for key in _keys(org_key, ip).values():
        services.ephemeral.record_hit(key, now)
    ok = bool(organisation and master_ok and device_ok and device_fits and data["origin"] in services.origins)
    if organisation is not None:
        _notice(services, organisation, "succeeded" if ok else "failed", name, ip)
    if not ok or organisation is None:
        raise AuthFailed()
    token = c.random_bytes(32).hex()
    services.ephemeral.put_challenge(token, "recovery-session", {
        "org_id": str(organisation.org_id), "device_id": device_id, "name": name, "dev_sign_pk": dev_sign_pk,
        "dev_box_pk": dev_box_pk, "nonce": data["nonce"], "ip": ip,
    }, now + SESSION_TTL)
    m = organisation.master
    return {
        "recovery_token": token, "org_id": str(organisation.org_id), "org_short": organisation.short_name,
        "org_sign_pk": organisation.org_sign_pk,
        "master": {"sign_pk": m["sign_pk"], "box_pk": m["box_pk"], "anchor": m["anchor"]},
        "mp_grant": organisation.mp_grants[organisation.keyring_version],
        "users": [{"user_short": u.short_name, "role": u.role} for u in organisation.users.values() if u.active],
    }


def complete(services: Services, recovery_token: str, cert: str, approved_at: str, grant: dict[str, Any],
             reset: dict[str, Any] | None, master_cert: str | None = None) -> dict[str, Any]:
    """§4.7 step 6: the device certified and granted by the org key the client opened, and optionally a
    new password for one user (org-signed certificate). Single use; revokes that user's sessions."""
    now = services.now()
    session = services.ephemeral.pop_challenge(recovery_token, "recovery-session", now)
    if session is None:
        raise AuthFailed()
    c = services.crypto
    organisation = services.events.get(UUID(session["org_id"]))
    if not isinstance(organisation, Organisation):
        raise AuthFailed()
    org_pk = _b(organisation.org_sign_pk)
    device_id, name = session["device_id"], session["name"]
    cert_message = t.device_cert(session["org_id"], device_id, name, _b(session["dev_sign_pk"]),
                                 _b(session["dev_box_pk"]), approved_at, APPROVER)
    if not c.verify(org_pk, cert_message, _b(cert)):
        raise Invalid(MSG_CERT, "cert")
    version = organisation.keyring_version
    full_grant = {"version": version, **grant}
    if not c.verify(org_pk, t.keyring_grant(session["org_id"], device_id, version, _b(grant["sealed"])),
                    _b(grant["sig"])):
        raise Invalid(MSG_GRANT, "grant")
    device = services.events.device(organisation.org_id, device_id) or Device.enroll(
        organisation.org_id, device_id, name, session["dev_sign_pk"], session["dev_box_pk"], APPROVER, now)
    device.approve(cert, approved_at, APPROVER, "", full_grant, now)
    changed: list[Any] = [device, organisation]
    m = organisation.master
    if master_cert and not m.get("cert") and c.verify(
            org_pk, t.master_keys_cert(session["org_id"], _b(m["sign_pk"]), _b(m["box_pk"])), _b(master_cert)):
        organisation.certify_master_keys(master_cert)  # organisations registered before the mp certificate
    reset_user = None
    if reset is not None:
        reset_user = organisation.require_user(reset["user_short"])
        pw = NewPassword.of(reset["password"])
        _verify_user_cert(services, organisation, reset_user.key, reset_user.role, pw, reset["cert"])
        _verify_possession(services, organisation, reset_user.key, reset_user.role, pw, _b(session["nonce"]),
                           reset["sig_new"])
        organisation.change_password(reset_user.key, pw.salt, pw.ops, pw.mem, pw.pk_pw, reset["cert"],
                                     how="recovery")
    fr.save(services, *changed)
    if reset_user is not None:
        services.ephemeral.delete_sessions(organisation.org_id, reset_user.key)
    _notice(services, organisation, "completed", name, session["ip"])
    return {"device_id": device_id, "keyring_version": version,
            "user_short": reset_user.short_name if reset_user else None}
