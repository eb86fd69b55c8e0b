"""Who may enter a call: join tokens (design/crypto.md §4.10a) resolved through the appointments context,
the staff rule (KBV: staff logins cannot lead a consultation), a throttle against guessing codes, and the
ICE servers a participant receives (STUN plus TURN with coturn REST credentials)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from dataclasses import dataclass
from uuid import UUID

from application import access, access_log
from application.calls import (
    CLOSE_AUTH,
    CLOSE_NO_ACCESS,
    MSG_LEADER_SESSION,
    MSG_NO_ACCESS,
    MSG_STAFF,
    MSG_WRONG_PRACTICE,
    PRACTITIONER,
    Refused,
)
from application.errors import AuthFailed
from application.ports import JoinGrant, JoinResolver
from application.services import Services
from domain.appointment import within_access_window

JOIN_TOKEN_HEX = 64
GUESS_WINDOW, GUESS_LIMIT = 600.0, 30  # failed joins per 10 minutes per /24 (IPv4) or /56 (IPv6)
CLOSE_THROTTLED = 4429
MSG_THROTTLED = "Zu viele ungültige Zugangscodes. Bitte in {s} Sekunden erneut versuchen."
MSG_AUTH = "Anmeldung fehlgeschlagen. Bitte erneut anmelden."
CLOSE_CONSENT = 4412
# A close reason holds at most 123 bytes (RFC 6455): short enough to travel in the close frame too.
MSG_CONSENT = "Vor der Videosprechstunde ist Ihre Einwilligung nötig. Bitte zuerst zustimmen."


def parse_join_token(text: object) -> bytes | None:
    if not isinstance(text, str) or len(text) != JOIN_TOKEN_HEX:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def _throttle_key(ip: str) -> str:
    return "call-join-ip:" + access.ip_prefix(ip)


def resolve(services: Services, resolver: JoinResolver, token_text: object, ip: str) -> JoinGrant:
    """The grant of a join token, or Refused — a wrong, expired or revoked code never reaches a room."""
    now = services.now()
    count, oldest = services.ephemeral.hits_since(_throttle_key(ip), now - GUESS_WINDOW)
    if count >= GUESS_LIMIT and oldest is not None:
        raise Refused(CLOSE_THROTTLED, MSG_THROTTLED.format(s=math.ceil(oldest + GUESS_WINDOW - now)))
    token = parse_join_token(token_text)
    grant = resolver(token) if token is not None else None
    if grant is not None and not within_access_window(grant.starts_at, grant.ends_at, services.clock()):
        grant = None  # the same window as the resolver's (§8a.5); guards a resolver that checks none
    if grant is None:
        services.ephemeral.record_hit(_throttle_key(ip), now)
        raise Refused(CLOSE_NO_ACCESS, MSG_NO_ACCESS)
    return grant


def note_join(services: Services, grant: JoinGrant, ip: str) -> None:
    """A code used to join a call goes into the practice's access log (which seat, which network)."""
    access_log.note(services, grant.org_id, "call-join", appointment=str(grant.appointment_id), seat=grant.slot,
                    ip=access.ip_prefix(ip))


def user_role(services: Services, org_id: UUID, user_key: str) -> str | None:
    organisation = services.events.get(org_id)
    user = organisation.user(user_key) if organisation is not None else None
    return None if user is None or not user.active else str(user.role)


def check_leader(services: Services, grant: JoinGrant, session_token: object) -> None:
    """The practitioner code admits only together with the session of an active admin of the appointment's
    practice (§8a.7: staff logins are for organisation only, KBV). Patient codes never need a session, and a
    session sent along with one is ignored."""
    if grant.role != PRACTITIONER:
        return
    if session_token is None:
        raise Refused(CLOSE_AUTH, MSG_LEADER_SESSION)
    if not isinstance(session_token, str) or len(session_token) > 128:
        raise Refused(CLOSE_AUTH, MSG_AUTH)
    try:
        session = access.authenticate(services, session_token)
    except AuthFailed:
        raise Refused(CLOSE_AUTH, MSG_AUTH) from None
    if session.org_id != grant.org_id:
        raise Refused(CLOSE_NO_ACCESS, MSG_WRONG_PRACTICE)
    role = user_role(services, session.org_id, session.user_key)
    if role is None:
        raise Refused(CLOSE_AUTH, MSG_AUTH)
    if role != "admin":
        raise Refused(CLOSE_NO_ACCESS, MSG_STAFF)


def check_consent(grant: JoinGrant) -> None:
    """No patient enters the waiting room before the Einwilligung is recorded (Art. 9 DSGVO, SPEC §3)."""
    if grant.role != PRACTITIONER and not grant.consented:
        raise Refused(CLOSE_CONSENT, MSG_CONSENT)


@dataclass(frozen=True)
class IceConfig:
    turn_urls: tuple[str, ...]
    turn_secret: str | None
    stun_urls: tuple[str, ...]
    ttl: int


def turn_credentials(secret: str, user: str, now: float, ttl: int) -> tuple[str, str]:
    """coturn `use-auth-secret`: username "<expiry>:<user>", password base64(HMAC-SHA1(secret, username))."""
    username = f"{int(now) + ttl}:{user}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


def _stun_from_turn(url: str) -> str:
    rest = url.split(":", 1)[1].split("?", 1)[0]
    return "stun:" + rest


def ice_servers(config: IceConfig, user: str, now: float) -> dict[str, object]:
    """STUN and TURN for one participant. `user` is an opaque per-call label, never a name or a code."""
    stun = list(config.stun_urls) or sorted({_stun_from_turn(u) for u in config.turn_urls if u.startswith("turn:")})
    servers: list[dict[str, object]] = [{"urls": stun}] if stun else []
    if config.turn_urls and config.turn_secret:
        username, credential = turn_credentials(config.turn_secret, user, now, config.ttl)
        servers.append({"urls": list(config.turn_urls), "username": username, "credential": credential})
    return {"ice_servers": servers, "ttl": config.ttl}
