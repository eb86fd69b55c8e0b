"""What every aggregate of an organisation shares: each of its events names the organisation, so the
event store can encrypt the payload under that organisation's key and erase it with that key."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

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


def scoped_id(org_id: UUID, kind: str, name: str) -> UUID:
    """Deterministic ids inside an organisation: the event store's (id, version) key makes them unique."""
    return uuid5(NAMESPACE_URL, f"/organisations/{org_id}/{kind}/{name}")


def global_id(kind: str, name: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/{kind}/{name}")
