"""What every aggregate of an organisation shares: each of its events names the organisation, so the
event store can encrypt the payload under that organisation's key and erase it with that key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from uuid import RFC_4122, UUID, uuid5

from eventsourcing.domain import Aggregate

# The short-name rule is the protocol's (design/crypto.md §8a.2), defined once for server and clients.
from sprechzimmer_protocol.names import short_name_key

__all__ = ["Conflict", "DomainError", "NotPermitted", "OrgAggregate", "global_id", "scoped_id", "short_name_key"]


class DomainError(Exception):
    """A command that the rules refuse. `field` names the input at fault, `message` is German."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(DomainError):
    """The command contradicts the current state (HTTP 409)."""


class NotPermitted(DomainError):
    """The plan or the role does not allow this (HTTP 403)."""


class OrgAggregate(Aggregate):
    org_id: UUID

    class Event(Aggregate.Event):
        org_id: UUID

    class Created(Event, Aggregate.Created):
        pass

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("org_id", self.org_id)
        super().trigger_event(event_class, **kwargs)


# Deterministic ids (short-name claims, contracts, invoices, invoice sequences, billing runs, code tags, …) are
# UUIDv5 under a namespace keyed with a server secret (design/crypto.md §8a.12): no client can compute one and
# take it first, e.g. by registering an organisation under the id of the year's invoice sequence. The server
# sets the key once at start-up (interfaces/bootstrap.py); until then a random one keeps ids unguessable.
_namespace = UUID(bytes=secrets.token_bytes(16))
ID_NAMESPACE_INFO = b"vdc/v1/server-id-namespace"
MSG_CLIENT_ID = "Bitte eine zufällige UUID (Version 4) angeben."


def configure_server_ids(server_key: bytes) -> None:
    """Keys every deterministic id with `server_key` (derived, so it needs no secret of its own)."""
    global _namespace
    _namespace = UUID(bytes=hmac.new(server_key, ID_NAMESPACE_INFO, hashlib.sha256).digest()[:16])


def scoped_id(org_id: UUID, kind: str, name: str) -> UUID:
    """Deterministic ids inside an organisation: the event store's (id, version) key makes them unique."""
    return uuid5(_namespace, f"/organisations/{org_id}/{kind}/{name}")


def global_id(kind: str, name: str) -> UUID:
    return uuid5(_namespace, f"/{kind}/{name}")


def require_client_id(value: UUID, field: str) -> UUID:
    """Ids a client proposes (organisation, appointment, invitation, …) are random UUIDv4 only, so they can
    never coincide with a server-derived UUIDv5 (§8a.12)."""
    if value.version != 4 or value.variant != RFC_4122:
        raise DomainError(MSG_CLIENT_ID, field)
    return value
