"""Audit records of the operator's own actions (issue 14): global events (no org_id), stored unencrypted and
chained like every other event, so an auditor sees each decryption of payloads and cannot have it removed."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.domain import Aggregate


class PayloadDisclosure(Aggregate):
    """One use of `sprechzimmer events --payload`: who decrypted which range of positions, and when."""

    TOPIC = "sprechzimmer.PayloadDisclosure"

    class Created(Aggregate.Created):
        TOPIC = "sprechzimmer.PayloadDisclosure.Created"
        who: str
        at: str
        first_position: int
        last_position: int

    @classmethod
    def record(cls, who: str, at: str, first_position: int, last_position: int) -> PayloadDisclosure:
        return cls._create(cls.Created, id=uuid4(), who=who, at=at, first_position=first_position,
                           last_position=last_position)

    def __init__(self, who: str, at: str, first_position: int, last_position: int):
        self.who, self.at = who, at
        self.first_position, self.last_position = first_position, last_position
