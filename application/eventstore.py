"""The one eventsourcing Application of the service: the event store is the only source of truth."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProjectorFunction, project_aggregate
from eventsourcing.persistence import EventStore as Store
from eventsourcing.persistence import Mapper, Transcoder

from domain.device import Device
from domain.organisation import Organisation, OrganisationShortName

log = logging.getLogger("sprechzimmer.events")
SNAPSHOT_EVERY = 50


class CurrentSnapshots(Store[UUID]):
    """The snapshot store, without snapshots taken by other code than the running one (OrgSnapshot.current):
    for those, the repository replays the aggregate's events instead."""

    def get(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        return (snapshot for snapshot in super().get(*args, **kwargs) if getattr(snapshot, "current", True))


class EventStore(Application[UUID]):
    name = "Sprechzimmer"
    # The aggregates whose history grows with the life of a practice (users, invites, keyrings, Stammdaten;
    # a device's grants) and which commands and logins load: snapshot every SNAPSHOT_EVERY versions.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Organisation: SNAPSHOT_EVERY, Device: SNAPSHOT_EVERY}

    def __init__(self, env: Mapping[str, str], mapper_factory: Callable[[Transcoder], Mapper[UUID]]):
        self._mapper_factory = mapper_factory
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        return self._mapper_factory(self.construct_transcoder())

    def construct_snapshot_store(self) -> Store[UUID]:
        store = super().construct_snapshot_store()
        return CurrentSnapshots(mapper=store.mapper, recorder=store.recorder)

    def take_snapshot(self, aggregate_id: UUID, version: int | None = None,
                      projector_func: ProjectorFunction[Any, Any] = project_aggregate) -> None:
        """Runs after the events are saved: a snapshot that fails (another process took the same one, the
        database went away) costs later loads some time, never the command that is already done."""
        try:
            super().take_snapshot(aggregate_id, version, projector_func)
        except Exception as error:  # the snapshot is only an optimisation
            log.warning("no snapshot of %s at version %s: %s", aggregate_id, version, type(error).__name__)

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
