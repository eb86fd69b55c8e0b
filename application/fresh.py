"""Sensitive actions (approve, lock or revoke a device, create users, change a password or the master
password) need more than a session: a fresh device signature over a fresh server nonce (design/crypto.md
§4.2). A stolen session token alone therefore changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.access import Challenge, Session
from application.errors import AuthFailed, Invalid, NotPermitted
from application.services import Services
from domain.device import Device
from domain.organisation import Organisation, User
from sprechzimmer_protocol import layouts as t

FRESH_TTL = 120.0
MSG_PROOF = "Die Bestätigung durch dieses Gerät fehlt oder ist abgelaufen. Bitte den Vorgang wiederholen."
MSG_ADMIN = "Nur Administratoren dürfen das."
MSG_CONCURRENT = "Die Daten wurden gleichzeitig geändert. Bitte den Vorgang wiederholen."
MSG_ORIGIN = "Unbekannte Herkunft (origin) der Anfrage."


@dataclass(frozen=True)
class Fresh:
    """A verified sensitive request: who, from which device, and the nonce it signed."""

    organisation: Organisation
    user: User
    device: Device
    nonce: bytes


def organisation_of(services: Services, session: Session) -> Organisation:
    """The session's organisation; gone only after erasure, when the session is worthless."""
    organisation = services.events.get(session.org_id)
    if not isinstance(organisation, Organisation):
        raise AuthFailed()
    return organisation


def issue(services: Services, session: Session, origin: str) -> Challenge:
    if origin not in services.origins:
        raise Invalid(MSG_ORIGIN, "origin")
    user = organisation_of(services, session).user(session.user_key)
    if user is None:
        raise AuthFailed()
    challenge_id = services.crypto.random_bytes(16).hex()
    nonce = services.crypto.random_bytes(32).hex()
    services.ephemeral.put_challenge(challenge_id, "fresh", {
        "token_hash": session.token_hash, "device_id": session.device_id, "nonce": nonce, "origin": origin,
    }, services.now() + FRESH_TTL)
    return Challenge(challenge_id, nonce, user.pw_salt, {"alg": "argon2id13", "ops": user.pw_ops,
                                                              "mem": user.pw_mem})


def verify(services: Services, session: Session, proof: dict[str, str], action: str, target: str) -> Fresh:
    """Pops the challenge (single use) and checks the device signature of the session's device."""
    challenge = services.ephemeral.pop_challenge(proof["challenge_id"], "fresh", services.now())
    if challenge is None or challenge["token_hash"] != session.token_hash:
        raise NotPermitted(MSG_PROOF, "proof")
    organisation = organisation_of(services, session)
    user = organisation.user(session.user_key)
    device = services.events.device(session.org_id, session.device_id)
    nonce = bytes.fromhex(challenge["nonce"])
    message = t.sensitive(str(session.org_id), session.device_id, action, target, nonce, challenge["origin"])
    if not (user and user.active and device and device.can_log_in
            and services.crypto.verify(bytes.fromhex(device.dev_sign_pk), message, bytes.fromhex(proof["sig"]))):
        raise NotPermitted(MSG_PROOF, "proof")
    return Fresh(organisation, user, device, nonce)


def require_admin(fresh: Fresh, message: str = MSG_ADMIN) -> None:
    if fresh.user.role != "admin":
        raise NotPermitted(message)


def save(services: Services, *aggregates: Any) -> int:
    """Optimistic concurrency: a concurrent change of the same aggregate is a conflict, never half-written."""
    return services.commit(*aggregates, message=MSG_CONCURRENT)
