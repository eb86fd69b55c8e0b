"""Anmeldung: challenge–response login with the user's password key and an approved device key
(design/crypto.md §4.2–4.3), sessions, and the throttles that stop guessing without locking anyone out."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application import access_log
from application.errors import AuthFailed, Throttled
from application.ports import LoginRecord, SessionRecord, StoredDevice
from application.services import Services
from domain.base import short_name_key
from domain.device import APPROVED
from domain.organisation import Organisation
from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import policy

CHALLENGE_TTL = 120.0
DEFAULT_KDF = {"alg": "argon2id13", "ops": policy.PASSWORD_OPS, "mem": policy.PASSWORD_MEM}
IP_WINDOW, IP_LIMIT = 600.0, 20  # 20 failures per 10 minutes per /24 (IPv4) or /56 (IPv6)
START_WINDOW, START_LIMIT = 60.0, 60  # auth/start per address: a practice's staff behind one NAT fit easily
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
    accepted_legal: dict[str, str] = field(default_factory=dict)  # legal text → version the organisation accepted


@dataclass(frozen=True)
class Session:
    token_hash: str
    org_id: UUID
    user_key: str
    device_id: str


def ip_prefix(ip: str, bits_v4: int = 24, bits_v6: int = 56) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    bits = bits_v4 if address.version == 4 else bits_v6
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def client_address(ip: str) -> str:
    """One client for the per-address throttles: an IPv4 address, or an IPv6 /64 (one subscriber line holds a
    whole /64, so counting single IPv6 addresses would let it choose a fresh one for every request)."""
    return ip_prefix(ip, 32, 64)


def token_hash(services: Services, token: str) -> str:
    return services.crypto.h("vdc/v1/session", token).hex()


def _check_ip(services: Services, ip: str, now: float) -> None:
    count, oldest = services.ephemeral.hits_since("login-ip:" + ip_prefix(ip), now - IP_WINDOW)
    if count >= IP_LIMIT and oldest is not None:
        raise Throttled(math.ceil(oldest + IP_WINDOW - now))


def rate_limit(services: Services, key: str, limit: int, window: float, now: float) -> None:
    """At most `limit` requests per `window` seconds under `key`; the request is counted when let through."""
    count, oldest = services.ephemeral.hits_since(key, now - window)
    if count >= limit and oldest is not None:
        raise Throttled(max(1, math.ceil(oldest + window - now)))
    services.ephemeral.record_hit(key, now)


def _lookup(services: Services, org: str, user: str, device_id: str) -> LoginRecord | None:
    if services.logins is None:
        raise RuntimeError("no login directory configured")
    return services.logins.lookup(org, user, device_id)


def start(services: Services, org: str, user: str, device_id: str, origin: str, ip: str) -> Challenge:
    """Always answers alike: unknown names get a deterministic fake salt and the default parameters. Known and
    unknown organisations cost the same single read-model query, so the answer's timing tells nothing."""
    now = services.now()
    _check_ip(services, ip, now)
    rate_limit(services, "login-start:" + client_address(ip), START_LIMIT, START_WINDOW, now)
    c = services.crypto
    found = _lookup(services, org, user, device_id)
    account = found.user if found else None
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
    found = _lookup(services, data["org"], data["user"], data["device_id"])  # for every attempt: equal work
    account = found.user if found else None
    device = found.device if found else None

    transcript = t.login(data["org"], data["user"], data["device_id"], bytes.fromhex(data["nonce"]),
                         data["origin"])
    device_pk = bytes.fromhex(device.dev_sign_pk) if device else _DUMMY_PUBLIC_KEY
    password_pk = bytes.fromhex(account.pk_pw) if account else _DUMMY_PUBLIC_KEY
    device_signed = c.verify(device_pk, transcript, sig_dev)  # both checks always run: equal work
    password_signed = c.verify(password_pk, transcript, sig_pw)
    origin_ok = data["origin"] in services.origins

    approved_device = bool(
        found and device and device.status == APPROVED and device.cert and device_signed and origin_ok
        and c.verify(bytes.fromhex(found.org_sign_pk), _device_cert_message(services, found.org_id,
                                                                              data["device_id"], device),
                     bytes.fromhex(device.cert))
    )
    if approved_device and found and account:
        # Only someone holding an approved device key can count towards (or trip) the account's lock.
        account_key = f"{found.org_id}:{short_name_key(data['user'])}"
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
        organisation = services.events.get(found.org_id, Organisation)  # once: the log entry, the session
        if organisation is None:  # erased a moment ago
            raise AuthFailed()
        access_log.note_for(services, organisation, "login", user=account.short_name,
                            device=getattr(device, "name", ""), ip=ip_prefix(ip))
        return _open_session(services, found, organisation, data, now)

    services.ephemeral.record_hit("login-ip:" + ip_prefix(ip), now)
    raise AuthFailed()


def _device_cert_message(services: Services, org_id: UUID, device_id: str, device: StoredDevice) -> bytes:
    return t.device_cert(
        str(org_id), device_id, device.name, bytes.fromhex(device.dev_sign_pk), bytes.fromhex(device.dev_box_pk),
        device.approved_at or "", device.approver or "",
    )


def _open_session(services: Services, found: LoginRecord, organisation: Organisation, data: dict[str, Any],
                  now: float) -> LoginResult:
    """The session's certificates and grant come from the same read-model row: deciding needs no replay. The
    organisation (loaded once the login has succeeded) adds the org-signed head of the current keyring (§8a.11)
    and the accepted legal versions."""
    account, device = found.user, found.device
    if account is None or device is None or device.grant is None:
        raise AuthFailed()
    token = services.crypto.random_bytes(32).hex()
    services.ephemeral.add_session(
        token_hash(services, token),
        SessionRecord(found.org_id, short_name_key(account.short_name), data["device_id"], created=now,
                      last_seen=now),
    )
    return LoginResult(
        token=token, org_id=found.org_id, org_short=found.org_short, user_short=account.short_name,
        role=account.role, device_id=data["device_id"], org_sign_pk=found.org_sign_pk, grant=device.grant,
        device_cert={"name": device.name, "approved_at": device.approved_at, "approver": device.approver,
                     "sig": device.cert},
        user_cert=account.cert, expires_in=services.session_idle_seconds, approver_tag=device.approver_tag,
        keyring_head=organisation.keyring_head, accepted_legal=dict(organisation.accepted_legal),
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

