"""A device (Arbeitsplatz/Endgerät): a browser profile or SDK install holding its own key pair.
Only approved devices can log in (Freischaltung); the first one is approved by the registration itself."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.base import OrgAggregate, scoped_id

PENDING, APPROVED, LOCKED, REVOKED = "pending", "approved", "locked", "revoked"


class Device(OrgAggregate):
    TOPIC = "sprechzimmer.Device"

    class Event(OrgAggregate.Event):
        TOPIC = "sprechzimmer.Device.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "sprechzimmer.Device.Created"

    class RegisteredWithOrganisation(Created):
        """The registering device: approved by the registration, certified by the new org key."""

        TOPIC = "sprechzimmer.Device.RegisteredWithOrganisation"
        device_id: str
        name: str
        dev_sign_pk: str
        dev_box_pk: str
        cert: str
        approved_at: str
        approver: str
        requested_by: str
        grant: dict[str, Any]

    def __init__(self, org_id: UUID, device_id: str, name: str, dev_sign_pk: str, dev_box_pk: str, cert: str,
                 approved_at: str, approver: str, requested_by: str, grant: dict[str, Any]):
        self.org_id = org_id
        self.device_id = device_id
        self.name = name
        self.dev_sign_pk = dev_sign_pk
        self.dev_box_pk = dev_box_pk
        self.cert = cert
        self.approved_at = approved_at
        self.approver = approver
        self.requested_by = requested_by
        self.status = APPROVED
        self.grants: dict[int, dict[str, Any]] = {int(grant["version"]): grant}

    @staticmethod
    def id_for(org_id: UUID, device_id: str) -> UUID:
        return scoped_id(org_id, "devices", device_id)

    @classmethod
    def register_first(cls, org_id: UUID, device_id: str, name: str, dev_sign_pk: str, dev_box_pk: str, cert: str,
                       approved_at: str, requested_by: str, grant: dict[str, Any]) -> Device:
        return cls._create(
            cls.RegisteredWithOrganisation, id=cls.id_for(org_id, device_id), org_id=org_id, device_id=device_id,
            name=name, dev_sign_pk=dev_sign_pk, dev_box_pk=dev_box_pk, cert=cert, approved_at=approved_at,
            approver="registration", requested_by=requested_by, grant=grant,
        )

    @property
    def can_log_in(self) -> bool:
        return self.status == APPROVED

    @property
    def latest_grant(self) -> dict[str, Any] | None:
        return self.grants[max(self.grants)] if self.grants else None
