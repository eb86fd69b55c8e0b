"""The one eventsourcing Application of the service: the event store is the only source of truth."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Mapper, Transcoder

from domain.device import Device
from domain.organisation import Organisation, OrganisationShortName

log = logging.getLogger("sprechzimmer.events")


class EventStore(Application[UUID]):
    name = "Sprechzimmer"

    def __init__(self, env: Mapping[str, str], mapper_factory: Callable[[Transcoder], Mapper[UUID]]):
        self._mapper_factory = mapper_factory
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        return self._mapper_factory(self.construct_transcoder())

    def get(self, aggregate_id: UUID, kind: type | None = None) -> Any | None:
        """The aggregate, or None. With `kind`, an aggregate of another type under that id is reported and
        treated as missing (design/crypto.md §8a.12): a foreign aggregate under a derived id must never be
        mistaken for, say, the month's billing run."""
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if kind is not None and not isinstance(found, kind):
            log.error("aggregate %s is a %s, not a %s", aggregate_id, type(found).__name__, kind.__name__)
            return None
        return found

    def organisation_by_short_name(self, short_name: str) -> Organisation | None:
        claim = self.get(OrganisationShortName.id_for(short_name), OrganisationShortName)
        found: Organisation | None = self.get(claim.org_id, Organisation) if claim is not None else None
        return found

    def device(self, org_id: UUID, device_id: str) -> Device | None:
        found: Device | None = self.get(Device.id_for(org_id, device_id), Device)
        return found

    def position(self) -> int:
        return self.recorder.max_notification_id() or 0
