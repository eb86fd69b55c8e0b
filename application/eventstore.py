"""The one eventsourcing Application of the service: the event store is the only source of truth."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Mapper, Transcoder

from domain.device import Device
from domain.organisation import Organisation, OrganisationShortName


class EventStore(Application[UUID]):
    name = "Sprechzimmer"

    def __init__(self, env: Mapping[str, str], mapper_factory: Callable[[Transcoder], Mapper[UUID]]):
        self._mapper_factory = mapper_factory
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        return self._mapper_factory(self.construct_transcoder())

    def get(self, aggregate_id: UUID) -> Any | None:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def organisation_by_short_name(self, short_name: str) -> Organisation | None:
        claim = self.get(OrganisationShortName.id_for(short_name))
        return self.get(claim.org_id) if claim is not None else None

    def device(self, org_id: UUID, device_id: str) -> Device | None:
        return self.get(Device.id_for(org_id, device_id))

    def position(self) -> int:
        return self.recorder.max_notification_id() or 0
