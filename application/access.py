"""Anmeldung: challenge–response login with the user's password key and an approved device key
(design/crypto.md §4.2–4.3), sessions, and the throttles that stop guessing without locking anyone out."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.errors import AuthFailed, Throttled
from application.ports import SessionRecord
from application.services import Services
from domain.base import short_name_key
from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import policy

CHALLENGE_TTL = 120.0
DEFAULT_KDF = {"alg": "argon2id13", "ops": policy.PASSWORD_OPS, "mem": policy.PASSWORD_MEM}
IP_WINDOW, IP_LIMIT = 600.0, 20  # 20 failures per 10 minutes per /24 (IPv4) or /56 (IPv6)
BACKOFF_FROM, LOCK_AT, BACKOFF_CAP = 5, 100, 900.0  # NIST 800-63B: back-off from the 5th, lock at 100

# Stand-in key pair for unknown users and devices, so that every attempt does the same verification work.
_DUMMY_PUBLIC_KEY = bytes.fromhex("0e56c8d2ce1db9882bdbaeea41f61dbb561b6d7ede4710ffd7b4e85f71e3b076")


@dataclass(frozen=True)
class Challenge:
    challenge_id: str
    nonce: str
    salt: str
    kdf: dict[str, Any]


@dataclass(frozen=True)
class LoginResult:
    token: str
    org_id: UUID
    org_short: str
    user_short: str
    role: str
    device_id: str
    org_sign_pk: str
    grant: dict[str, Any]
    device_cert: dict[str, Any]
    user_cert: str
    expires_in: int
    approver_tag: str | None = None  # tag_A (§4.4): lets a newly approved device check the org key
    keyring_head: dict[str, Any] | None = None  # §8a.11: version and date of the current keyring, org-signed


@dataclass(frozen=True)
class Session:
    token_hash: str
    org_id: UUID
    user_key: str
    device_id: str


def ip_prefix(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    bits = 24 if address.version == 4 else 56
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def token_hash(services: Services, token: str) -> str:
    return services.crypto.h("vdc/v1/session", token).hex()


def _check_ip(services: Services, ip: str, now: float) -> None:
    count, oldest = services.ephemeral.hits_since("login-ip:" + ip_prefix(ip), now - IP_WINDOW)
    if count >= IP_LIMIT and oldest is not None:
        raise Throttled(math.ceil(oldest + IP_WINDOW - now))


def start(services: Services, org: str, user: str, device_id: str, origin: str, ip: str) -> Challenge:
    """Always answers alike: unknown names get a deterministic fake salt and the default parameters."""
    now = services.now()
    _check_ip(services, ip, now)
    c = services.crypto
    organisation = services.events.organisation_by_short_name(org)
    account = organisation.user(user) if organisation else None
    if account is not None:
        salt, kdf = account.pw_salt, {"alg": "argon2id13", "ops": account.pw_ops, "mem": account.pw_mem}
    else:
        salt, kdf = c.fake_salt(services.fake_salt_key, short_name_key(org), short_name_key(user)).hex(), DEFAULT_KDF
    challenge_id = c.random_bytes(16).hex()
    nonce = c.random_bytes(32).hex()
    services.ephemeral.put_challenge(
        challenge_id, "login",
        {"org": org, "user": user, "device_id": device_id, "origin": origin, "nonce": nonce},
        now + CHALLENGE_TTL,
    )
    return Challenge(challenge_id, nonce, salt, kdf)


def finish(services: Services, challenge_id: str, sig_pw: bytes, sig_dev: bytes, ip: str) -> LoginResult:
    now = services.now()
    _check_ip(services, ip, now)
    c = services.crypto
    challenge = services.ephemeral.pop_challenge(challenge_id, "login", now)
    data = challenge or {"org": "", "user": "", "device_id": "", "origin": "", "nonce": "00" * 32}
    organisation = services.events.organisation_by_short_name(data["org"]) if challenge else None
    account = organisation.user(data["user"]) if organisation else None
    device = services.events.device(organisation.org_id, data["device_id"]) if organisation else None

    transcript = t.login(data["org"], data["user"], data["device_id"], bytes.fromhex(data["nonce"]),
                         data["origin"])
    device_pk = bytes.fromhex(device.dev_sign_pk) if device else _DUMMY_PUBLIC_KEY
    password_pk = bytes.fromhex(account.pk_pw) if account else _DUMMY_PUBLIC_KEY
    device_signed = c.verify(device_pk, transcript, sig_dev)  # both checks always run: equal work
    password_signed = c.verify(password_pk, transcript, sig_pw)
    origin_ok = data["origin"] in services.origins

    approved_device = bool(
        organisation and device and device.can_log_in and device_signed and origin_ok
        and c.verify(bytes.fromhex(organisation.org_sign_pk), _device_cert_message(services, device),
                     bytes.fromhex(device.cert))
    )
    if approved_device and organisation and account:
        # Only someone holding an approved device key can count towards (or trip) the account's lock.
        account_key = f"{organisation.org_id}:{account.key}"
        failures, last = services.ephemeral.failures(account_key)
        if failures >= LOCK_AT:
            raise AuthFailed()
        if failures >= BACKOFF_FROM:
            wait = min(2.0 ** (failures - BACKOFF_FROM), BACKOFF_CAP)
            if now - last < wait:
                raise Throttled(math.ceil(last + wait - now))
        if not (password_signed and account.active):
            services.ephemeral.set_failures(account_key, failures + 1, now)
            services.ephemeral.record_hit("login-ip:" + ip_prefix(ip), now)
            raise AuthFailed()
        if failures:
            services.ephemeral.set_failures(account_key, 0, now)
        return _open_session(services, organisation, account, device, now)

    services.ephemeral.record_hit("login-ip:" + ip_prefix(ip), now)
    raise AuthFailed()


def _device_cert_message(services: Services, device: Any) -> bytes:
    return t.device_cert(
        str(device.org_id), device.device_id, device.name, bytes.fromhex(device.dev_sign_pk),
        bytes.fromhex(device.dev_box_pk), device.approved_at, device.approver,
    )


def _open_session(services: Services, organisation: Any, account: Any, device: Any, now: float) -> LoginResult:
    token = services.crypto.random_bytes(32).hex()
    services.ephemeral.add_session(
        token_hash(services, token),
        SessionRecord(organisation.org_id, account.key, device.device_id, created=now, last_seen=now),
    )
    return LoginResult(
        token=token, org_id=organisation.org_id, org_short=organisation.short_name, user_short=account.short_name,
        role=account.role, device_id=device.device_id, org_sign_pk=organisation.org_sign_pk,
        grant=device.latest_grant,
        device_cert={"name": device.name, "approved_at": device.approved_at, "approver": device.approver,
                     "sig": device.cert},
        user_cert=account.cert, expires_in=services.session_idle_seconds,
        approver_tag=getattr(device, "approver_tag", None), keyring_head=organisation.keyring_head,
    )


def authenticate(services: Services, token: str) -> Session:
    """A session lives 30 minutes after its last use and 12 hours at most."""
    now = services.now()
    hashed = token_hash(services, token)
    record = services.ephemeral.get_session(hashed)
    if record is None:
        raise AuthFailed()
    if now - record.last_seen > services.session_idle_seconds or \
            now - record.created > services.session_absolute_seconds:
        services.ephemeral.delete_session(hashed)
        raise AuthFailed()
    services.ephemeral.touch_session(hashed, now)
    return Session(hashed, record.org_id, record.user_key, record.device_id)


def logout(services: Services, session: Session) -> None:
    services.ephemeral.delete_session(session.token_hash)

