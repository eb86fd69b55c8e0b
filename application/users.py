"""Benutzer: in-person creation with the employee's own password, remote invites by one-time code,
roles, deactivation, admin-driven password reset, and the user's own password and master-password change
(design/crypto.md §4.5–4.6). Every change of pk_pw needs the old password's signature, an org-signed
user certificate, an invite code an admin issued, or a master-password proof; the operator holds none."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from application import fresh as fr
from application.access import Session, ip_prefix
from application.errors import AuthFailed, Conflict, Invalid, NotPermitted, Throttled
from application.notify import mail_admins
from application.registration import MASTER_FLOOR, PASSWORD_FLOOR
from application.services import Services
from domain.base import short_name_key
from domain.device import Device
from domain.organisation import Organisation, User
from sprechzimmer_protocol import layouts as t

INVITE_TTL = 72 * 3600.0
INVITE_WINDOW, INVITE_MISSES = 900.0, 10  # like access codes: 10 misses per IP per 15 minutes
MSG_USERS_ADMIN = "Nur Administratoren dürfen Benutzer anlegen oder verwalten."
MSG_MASTER_ADMIN = "Nur Administratoren dürfen das Masterpasswort ändern."
MSG_USER_CERT = "Das Benutzerzertifikat ist nicht von der Organisation signiert."
MSG_POSSESSION = "Der Nachweis für das neue Passwort ist ungültig."
MSG_OLD_PASSWORD = "Das bisherige Passwort ist falsch."
MSG_OLD_MASTER = "Das bisherige Masterpasswort ist falsch."
MSG_WEAK_KDF = "Die Parameter der Schlüsselableitung sind zu schwach."


@dataclass(frozen=True)
class NewPassword:
    """A new password key as the client sends it: salt, Argon2 parameters, public key."""

    salt: str
    ops: int
    mem: int
    pk_pw: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> NewPassword:
        if data["ops"] < PASSWORD_FLOOR[0] or data["mem"] < PASSWORD_FLOOR[1]:
            raise Invalid(MSG_WEAK_KDF, "ops")
        return cls(data["salt"], data["ops"], data["mem"], data["pk_pw"])


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def _verify_user_cert(services: Services, organisation: Organisation, user_key: str, role: str, pw: NewPassword,
                      cert: str) -> None:
    message = t.user_cert(str(organisation.org_id), user_key, role, _b(pw.salt), pw.ops,
                          pw.mem, _b(pw.pk_pw))
    if not services.crypto.verify(_b(organisation.org_sign_pk), message, _b(cert)):
        raise Invalid(MSG_USER_CERT, "cert")


def _verify_possession(services: Services, organisation: Organisation, user_key: str, role: str,
                       pw: NewPassword, nonce: bytes, sig: str) -> None:
    message = t.password_set(str(organisation.org_id), user_key, role, _b(pw.salt), pw.ops, pw.mem, _b(pw.pk_pw),
                             nonce)
    if not services.crypto.verify(_b(pw.pk_pw), message, _b(sig)):
        raise Invalid(MSG_POSSESSION, "sig_new")


def add_user(services: Services, session: Session, user_short: str, role: str, password: dict[str, Any], cert: str,
             sig_new: str, proof: dict[str, str]) -> None:
    """In person (§4.5): the employee typed the password on the admin's device, which signed the cert."""
    f = fr.verify(services, session, proof, "user-add", short_name_key(user_short))
    fr.require_admin(f, MSG_USERS_ADMIN)
    pw = NewPassword.of(password)
    key = short_name_key(user_short)
    _verify_user_cert(services, f.organisation, key, role, pw, cert)
    _verify_possession(services, f.organisation, key, role, pw, f.nonce, sig_new)
    f.organisation.add_user({"short_name": user_short.strip(), "role": role, "pw_salt": pw.salt, "pw_ops": pw.ops,
                             "pw_mem": pw.mem, "pk_pw": pw.pk_pw, "cert": cert}, by=f.user.key)
    fr.save(services, f.organisation)


def set_active(services: Services, session: Session, user_short: str, active: bool, proof: dict[str, str]) -> None:
    key = short_name_key(user_short)
    f = fr.verify(services, session, proof, "user-reactivate" if active else "user-deactivate", key)
    fr.require_admin(f, MSG_USERS_ADMIN)
    f.organisation.set_active(key, active, by=f.user.key)
    fr.save(services, f.organisation)
    if not active:
        services.ephemeral.delete_sessions(session.org_id, key)


def reset_password(services: Services, session: Session, user_short: str, password: dict[str, Any], cert: str,
                   sig_new: str, proof: dict[str, str]) -> None:
    """Forgotten staff password, in person: the employee types the new one on the admin's device."""
    key = short_name_key(user_short)
    f = fr.verify(services, session, proof, "user-password-reset", key)
    fr.require_admin(f, MSG_USERS_ADMIN)
    target = f.organisation.require_user(key)
    pw = NewPassword.of(password)
    _verify_user_cert(services, f.organisation, key, target.role, pw, cert)
    _verify_possession(services, f.organisation, key, target.role, pw, f.nonce, sig_new)
    f.organisation.change_password(key, pw.salt, pw.ops, pw.mem, pw.pk_pw, cert, how="admin-reset")
    fr.save(services, f.organisation)
    services.ephemeral.delete_sessions(session.org_id, key)


def certify(services: Services, session: Session, user_short: str, cert: str, proof: dict[str, str]) -> None:
    """An admin client signs the certificate of a user who chose their password through an invite."""
    key = short_name_key(user_short)
    f = fr.verify(services, session, proof, "user-certify", key)
    fr.require_admin(f, MSG_USERS_ADMIN)
    user = f.organisation.require_user(key)
    pw = NewPassword(user.pw_salt, user.pw_ops, user.pw_mem, user.pk_pw)
    _verify_user_cert(services, f.organisation, key, user.role, pw, cert)
    f.organisation.certify_user(key, cert)
    fr.save(services, f.organisation)


def change_role(services: Services, session: Session, user_short: str, role: str, cert: str,
                proof: dict[str, str]) -> None:
    """The role is part of the user certificate: the admin client signs a new one with the new role."""
    key = short_name_key(user_short)
    f = fr.verify(services, session, proof, "user-role", key)
    fr.require_admin(f, MSG_USERS_ADMIN)
    user = f.organisation.require_user(key)
    pw = NewPassword(user.pw_salt, user.pw_ops, user.pw_mem, user.pk_pw)
    _verify_user_cert(services, f.organisation, key, role, pw, cert)
    f.organisation.change_role(key, role, cert, by=f.user.key)
    fr.save(services, f.organisation)


def invite(services: Services, session: Session, user_short: str, role: str, token: str,
           proof: dict[str, str]) -> None:
    """The admin client drew the code and sends only its token; the server keeps a keyed tag for 72 h.
    For an existing user the invite is a password reset (the role stays)."""
    key = short_name_key(user_short)
    f = fr.verify(services, session, proof, "user-invite", key)
    fr.require_admin(f, MSG_USERS_ADMIN)
    existing = f.organisation.user(key)
    tag = services.crypto.invite_tag(_b(token), services.pepper_code).hex()
    f.organisation.invite(tag, existing.short_name if existing else user_short.strip(),
                          existing.role if existing else role, services.now() + INVITE_TTL, by=f.user.key)
    fr.save(services, f.organisation)


def redeem_invite(services: Services, challenge_id: str, token: str, name: str, dev_sign_pk: str, dev_box_pk: str,
                  password: dict[str, Any], sig_pw: bytes, sig_dev: bytes, ip: str) -> dict[str, str]:
    """On the employee's new device: choose the password, enrol the device (pending), all in one step.
    Wrong, used and expired codes get the single AUTH_FAILED and count per IP."""
    now = services.now()
    ip_key = "invite-ip:" + ip_prefix(ip)
    count, oldest = services.ephemeral.hits_since(ip_key, now - INVITE_WINDOW)
    if count >= INVITE_MISSES and oldest is not None:
        raise Throttled(math.ceil(oldest + INVITE_WINDOW - now))
    pw = NewPassword.of(password)
    challenge = services.ephemeral.pop_challenge(challenge_id, "login", now)
    data = challenge or {"org": "", "user": "", "device_id": "", "origin": "", "nonce": "00" * 32}
    organisation = services.events.organisation_by_short_name(data["org"]) if challenge else None
    message = t.invite_redeem(data["org"], data["user"], data["device_id"], name, _b(dev_sign_pk), _b(dev_box_pk),
                              _b(pw.salt), pw.ops, pw.mem, _b(pw.pk_pw), _b(token), _b(data["nonce"]),
                              data["origin"])
    proven = services.crypto.verify(_b(pw.pk_pw), message, sig_pw) & \
        services.crypto.verify(_b(dev_sign_pk), message, sig_dev)
    tag = services.crypto.invite_tag(_b(token), services.pepper_code).hex()
    invitation = organisation.redeem_invite(tag, now) if organisation and proven else None
    key = short_name_key(data["user"])
    if organisation is None or invitation is None or short_name_key(invitation["user_short"]) != key \
            or data["origin"] not in services.origins \
            or services.events.device(organisation.org_id, data["device_id"]) is not None:
        services.ephemeral.record_hit(ip_key, now)
        raise AuthFailed()
    existing = organisation.user(key)
    if existing is None:
        organisation.add_user({"short_name": invitation["user_short"], "role": invitation["role"],
                               "pw_salt": pw.salt, "pw_ops": pw.ops, "pw_mem": pw.mem, "pk_pw": pw.pk_pw, "cert": ""},
                              by="invite")
    else:
        organisation.change_password(key, pw.salt, pw.ops, pw.mem, pw.pk_pw, "", how="invite")
        services.ephemeral.delete_sessions(organisation.org_id, key)
    device = Device.enroll(organisation.org_id, data["device_id"], name, dev_sign_pk, dev_box_pk, key, now)
    fr.save(services, organisation, device)
    return {"org_id": str(organisation.org_id), "device_id": device.device_id, "status": device.status}


def change_password(services: Services, session: Session, password: dict[str, Any], cert: str, sig_old: str,
                    sig_new: str, proof: dict[str, str]) -> int:
    """§4.6: signed with the old and the new password key over a fresh nonce, plus a new org-signed
    certificate and the device's fresh signature. Revokes the user's other sessions."""
    f = fr.verify(services, session, proof, "password-change", session.user_key)
    user: User = f.user
    pw = NewPassword.of(password)
    message = t.password_change(str(f.organisation.org_id), user.key, _b(pw.salt), _b(pw.pk_pw), f.nonce)
    if not services.crypto.verify(_b(user.pk_pw), message, _b(sig_old)):
        raise Invalid(MSG_OLD_PASSWORD, "old_password")
    if not services.crypto.verify(_b(pw.pk_pw), message, _b(sig_new)):
        raise Invalid(MSG_POSSESSION, "sig_new")
    _verify_user_cert(services, f.organisation, user.key, user.role, pw, cert)
    f.organisation.change_password(user.key, pw.salt, pw.ops, pw.mem, pw.pk_pw, cert, how="user")
    fr.save(services, f.organisation)
    return services.ephemeral.delete_sessions(session.org_id, user.key, keep=session.token_hash)


def master_params(services: Services, session: Session) -> dict[str, Any]:
    """Admins only (§8a.9): salt and public key are all an offline guess at the master password needs."""
    organisation = fr.organisation_of(services, session)
    user = organisation.user(session.user_key)
    if user is None or user.role != "admin":
        raise NotPermitted(MSG_MASTER_ADMIN)
    master = organisation.master
    return {"salt": master["salt"], "ops": master["ops"], "mem": master["mem"], "sign_pk": master["sign_pk"],
            "box_pk": master["box_pk"], "anchor": master["anchor"], "cert": master.get("cert"),
            "keyring_version": organisation.keyring_version}


def visible_users(services: Services, session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The user listing as this session may see it (§8a.9): password verifiers (salt and pk_pw, enough for
    an offline guess) of other users only for admins; staff see their own verifier only."""
    user = fr.organisation_of(services, session).user(session.user_key)
    if user is not None and user.role == "admin":
        return rows
    secret = ("pw_salt", "pw_ops", "pw_mem", "pk_pw", "invite_proof")
    return [row if short_name_key(row["user_short"]) == session.user_key
            else {k: v for k, v in row.items() if k not in secret} for row in rows]


def change_master(services: Services, session: Session, master: dict[str, Any], mp_grant: dict[str, Any],
                  sig_old: str, sig_new: str, proof: dict[str, str]) -> int:
    """§4.6: proof of the current master password (old k_mp_sign) and of the new one, a new anchor and an
    org-signed mp grant of the current keyring version. Old mp grants go; admins are notified."""
    f = fr.verify(services, session, proof, "master-change", str(session.org_id))
    fr.require_admin(f, MSG_MASTER_ADMIN)
    organisation = f.organisation
    if master["ops"] < MASTER_FLOOR[0] or master["mem"] < MASTER_FLOOR[1]:
        raise Invalid(MSG_WEAK_KDF, "master")
    c = services.crypto
    message = t.master_change(str(organisation.org_id), _b(master["salt"]), master["ops"], master["mem"],
                              _b(master["sign_pk"]), _b(master["box_pk"]), _b(master["anchor"]), f.nonce)
    if not c.verify(_b(organisation.master["sign_pk"]), message, _b(sig_old)):
        raise Invalid(MSG_OLD_MASTER, "old_master_password")
    if not c.verify(_b(master["sign_pk"]), message, _b(sig_new)):
        raise Invalid(MSG_POSSESSION, "sig_new")
    if not c.verify(_b(organisation.org_sign_pk), t.master_keys_cert(str(organisation.org_id), _b(master["sign_pk"]),
                                                                      _b(master["box_pk"])), _b(master["cert"])):
        raise Invalid("Die Schlüssel des Masterpassworts sind nicht von der Organisation signiert.", "master.cert")
    version = organisation.keyring_version
    # The head of this version stays with the mp grant (§8a.11): a recovering device learns version and date.
    head = organisation.mp_grants[version].get("head")
    grant = {"version": version, **mp_grant, **({"head": head} if head else {})}
    if int(mp_grant.get("version", version)) != version or not c.verify(
            _b(organisation.org_sign_pk), t.keyring_grant(str(organisation.org_id), "mp", version,
                                                          _b(grant["sealed"])), _b(grant["sig"])):
        raise Conflict("Die Schlüsselfreigabe für das Masterpasswort ist ungültig oder veraltet.", "mp_grant")
    organisation.change_master({k: master[k] for k in ("salt", "ops", "mem", "sign_pk", "box_pk", "anchor", "cert")},
                               grant, by=f.user.key)
    fr.save(services, organisation)
    revoked = services.ephemeral.delete_sessions(session.org_id, f.user.key, keep=session.token_hash)
    mail_admins(services, organisation, "Sprechzimmer: Masterpasswort geändert",
                f"Das Masterpasswort der Organisation {organisation.short_name} wurde vom Benutzer "
                f"{f.user.short_name} geändert. Falls das nicht beabsichtigt war, wenden Sie sich bitte "
                "sofort an Ihre Administratoren.")
    return revoked
