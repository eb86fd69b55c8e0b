"""What every aggregate of an organisation shares: each of its events names the organisation, so the
event store can encrypt the payload under that organisation's key and erase it with that key."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import inspect
import secrets
import sys
from functools import lru_cache
from typing import Any
from uuid import RFC_4122, UUID, uuid5

from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.utils import get_topic, resolve_topic

# The short-name rule is the protocol's (design/crypto.md §8a.2), defined once for server and clients.
from sprechzimmer_protocol.names import short_name_key

__all__ = ["Conflict", "DomainError", "NotPermitted", "OrgAggregate", "OrgSnapshot", "global_id", "scoped_id",
           "short_name_key"]


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


class OrgSnapshot(Snapshot):
    """The state of one of an organisation's aggregates at one version (issue 13.3): a command on an aggregate
    with a long history loads the snapshot and the events after it instead of all of them. Like every event of
    the aggregate it names the organisation, so the store encrypts it under the organisation's key and an
    erasure deletes it with the events.

    The state is stored as JSON, which knows neither integer dict keys (keyring versions) nor dataclasses (User):
    `take` tags both and `mutate` restores them. `schema` fingerprints the code of the aggregate; a snapshot
    taken by other code is not `current`, and the store replays the events instead (application/eventstore.py),
    so an aggregate whose attributes changed in a release never meets a snapshot of the old ones."""

    TOPIC = "sprechzimmer.OrgSnapshot"

    @property
    def org_id(self) -> UUID:
        return UUID(str(self.state["org_id"]))

    @property
    def current(self) -> bool:
        return bool(self.state.get("schema") == _schema(resolve_topic(self.topic).__module__))

    @classmethod
    def take(cls, aggregate: Any) -> OrgSnapshot:
        taken = super().take(aggregate)
        state = {key: _tagged(value) for key, value in taken.state.items()}
        state["schema"] = _schema(type(aggregate).__module__)
        return dataclasses.replace(taken, state=state)

    def mutate(self, _: None) -> Any:
        state = {key: _untagged(value) for key, value in self.state.items() if key != "schema"}
        return Snapshot.mutate(dataclasses.replace(self, state=state), None)


_TAG = "__snapshot__"


def _tagged(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_TAG: "dataclass", "topic": get_topic(type(value)),
                "fields": {field.name: _tagged(getattr(value, field.name)) for field in dataclasses.fields(value)}}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: _tagged(item) for key, item in value.items()}
        return {_TAG: "items", "items": [[key, _tagged(item)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {_TAG: "tuple", "items": [_tagged(item) for item in value]}
    if isinstance(value, list):
        return [_tagged(item) for item in value]
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag == "dataclass":
        return resolve_topic(value["topic"])(**{name: _untagged(item) for name, item in value["fields"].items()})
    if tag == "items":
        return {key: _untagged(item) for key, item in value["items"]}
    if tag == "tuple":
        return tuple(_untagged(item) for item in value["items"])
    return {key: _untagged(item) for key, item in value.items()}


@lru_cache(maxsize=64)
def _schema(module: str) -> str:
    """A digest of the code an aggregate's state comes from: its module and this one."""
    sources = (inspect.getsource(sys.modules[module]), inspect.getsource(sys.modules[__name__]))
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()[:32]


class OrgAggregate(Aggregate):
    org_id: UUID

    Snapshot = OrgSnapshot

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
