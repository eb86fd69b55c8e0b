"""Usage that is billed per unit (SMS invitations in plus, 0,10 EUR each).

One small aggregate per counted unit: its creation event `UsageRecorded` names only the kind and the billing
month — never the phone number or the appointment — so counting needs no personal data. Creating a new
aggregate per unit means concurrent SMS never conflict on a version number. An id derived from a reference
(e.g. the invitation's id) makes recording idempotent: the same SMS is never counted twice."""

from __future__ import annotations

from uuid import UUID, uuid4

from domain.base import OrgAggregate, scoped_id

SMS = "sms"


class UsageRecord(OrgAggregate):
    TOPIC = "sprechzimmer.UsageRecord"

    class Event(OrgAggregate.Event):
        TOPIC = "sprechzimmer.UsageRecord.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "sprechzimmer.UsageRecord.Created"

    class Recorded(Created):
        TOPIC = "sprechzimmer.UsageRecorded"
        kind: str
        month: str  # "YYYY-MM", the billing month the unit belongs to

    def __init__(self, org_id: UUID, kind: str, month: str):
        self.org_id = org_id
        self.kind = kind
        self.month = month

    @classmethod
    def record(cls, org_id: UUID, kind: str, month: str, reference: str | None = None) -> UsageRecord:
        aggregate_id = scoped_id(org_id, "usage", reference) if reference else uuid4()
        return cls._create(cls.Recorded, id=aggregate_id, org_id=org_id, kind=kind, month=month)


UsageRecorded = UsageRecord.Recorded
"""The event other contexts' tests and the billing read model refer to."""
