"""The erasure receipt (Löschprotokoll): the only trace of an erased organisation.

Its events carry no org_id, so they are stored unencrypted and stay readable for every auditor; they hold a
keyed hash of the organisation id, dates and counts of what was deleted — nothing that names the practice.
`Started` is written before anything is deleted and `Completed` after, so a crashed erasure is visible, and
(on SQLite) the receipt's row keeps the highest notification id alive: deleting the organisation's rows can
never make the store hand out an already used position again."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import global_id


class ErasureReceipt(Aggregate):
    TOPIC = "sprechzimmer.ErasureReceipt"

    class Event(Aggregate.Event):
        TOPIC = "sprechzimmer.ErasureReceipt.Event"

    class Created(Event, Aggregate.Created):
        TOPIC = "sprechzimmer.ErasureReceipt.Created"

    class Started(Created):
        TOPIC = "sprechzimmer.ErasureReceipt.Started"
        org_hash: str
        contract_ended_on: str
        started_at: str
        events_to_delete: int  # counted before anything went, so a receipt resumed after a crash still says it

    class Completed(Event):
        TOPIC = "sprechzimmer.ErasureReceipt.Completed"
        completed_at: str
        deleted: dict[str, Any]

        def apply(self, receipt: ErasureReceipt) -> None:
            receipt.completed_at = self.completed_at
            receipt.deleted = self.deleted

    def __init__(self, org_hash: str, contract_ended_on: str, started_at: str, events_to_delete: int):
        self.org_hash = org_hash
        self.contract_ended_on = contract_ended_on
        self.started_at = started_at
        self.events_to_delete = events_to_delete
        self.completed_at: str | None = None
        self.deleted: dict[str, Any] = {}

    @staticmethod
    def id_for(org_hash: str) -> UUID:
        return global_id("erasure-receipts", org_hash)

    @classmethod
    def start(cls, org_hash: str, contract_ended_on: str, started_at: str, events_to_delete: int) -> ErasureReceipt:
        return cls._create(cls.Started, id=cls.id_for(org_hash), org_hash=org_hash,
                           contract_ended_on=contract_ended_on, started_at=started_at,
                           events_to_delete=events_to_delete)

    def complete(self, completed_at: str, deleted: dict[str, Any]) -> None:
        if self.completed_at is None:
            self.trigger_event(self.Completed, completed_at=completed_at, deleted=deleted)
