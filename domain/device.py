"""A device (Arbeitsplatz/Endgerät): a browser profile or SDK install holding its own key pair.
Only approved devices can log in (Freischaltung); the first one is approved by the registration itself."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.base import Conflict, OrgAggregate, scoped_id

PENDING, APPROVED, LOCKED, REVOKED = "pending", "approved", "locked", "revoked"
PENDING_TTL_SECONDS = 24 * 3600  # an unapproved enrolment expires after 24 h (design/crypto.md §7)


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

    class Enrolled(Created):
        """A new device asked for approval with the user's password; it waits (pending) for 24 h."""

        TOPIC = "sprechzimmer.Device.Enrolled"
        device_id: str
        name: str
        dev_sign_pk: str
        dev_box_pk: str
        requested_by: str
        requested_at: float

    class PairingTagAttached(Event):
        """tag_B: the MAC over the device's keys under the pairing key only the device and approver know."""

        TOPIC = "sprechzimmer.Device.PairingTagAttached"
        tag: str

        def apply(self, aggregate: Device) -> None:
            aggregate.pairing_tag = self.tag

    class Approved(Event):
        TOPIC = "sprechzimmer.Device.Approved"
        cert: str
        approved_at: str
        approver: str
        approver_tag: str  # tag_A; empty when the device approved itself with the master password
        grant: dict[str, Any]

        def apply(self, aggregate: Device) -> None:
            aggregate.status = APPROVED
            aggregate.cert, aggregate.approved_at, aggregate.approver = self.cert, self.approved_at, self.approver
            aggregate.approver_tag = self.approver_tag or None
            aggregate.grants = {int(self.grant["version"]): self.grant}

    class Renamed(Event):
        TOPIC = "sprechzimmer.Device.Renamed"
        name: str
        cert: str

        def apply(self, aggregate: Device) -> None:
            aggregate.name, aggregate.cert = self.name, self.cert

    class Locked(Event):
        TOPIC = "sprechzimmer.Device.Locked"
        by: str

        def apply(self, aggregate: Device) -> None:
            aggregate.status = LOCKED

    class Unlocked(Event):
        TOPIC = "sprechzimmer.Device.Unlocked"
        by: str

        def apply(self, aggregate: Device) -> None:
            aggregate.status = APPROVED

    class Revoked(Event):
        """Signed by the org key; the device's grants are deleted with it (design/crypto.md §4.8)."""

        TOPIC = "sprechzimmer.Device.Revoked"
        by: str
        revocation: str

        def apply(self, aggregate: Device) -> None:
            aggregate.status = REVOKED
            aggregate.grants = {}

    class GrantAdded(Event):
        """A newer keyring version sealed to this device (rotation)."""

        TOPIC = "sprechzimmer.Device.GrantAdded"
        grant: dict[str, Any]

        def apply(self, aggregate: Device) -> None:
            aggregate.grants[int(self.grant["version"])] = self.grant

    def __init__(self, org_id: UUID, device_id: str, name: str, dev_sign_pk: str, dev_box_pk: str,
                 requested_by: str, cert: str = "", approved_at: str = "", approver: str = "",
                 grant: dict[str, Any] | None = None, requested_at: float = 0.0):
        self.org_id = org_id
        self.device_id = device_id
        self.name = name
        self.dev_sign_pk = dev_sign_pk
        self.dev_box_pk = dev_box_pk
        self.cert = cert
        self.approved_at = approved_at
        self.approver = approver
        self.requested_by = requested_by
        self.requested_at = requested_at
        self.pairing_tag: str | None = None
        self.approver_tag: str | None = None
        self.status = APPROVED if grant is not None else PENDING
        self.grants: dict[int, dict[str, Any]] = {int(grant["version"]): grant} if grant is not None else {}

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

    @classmethod
    def enroll(cls, org_id: UUID, device_id: str, name: str, dev_sign_pk: str, dev_box_pk: str, requested_by: str,
               requested_at: float) -> Device:
        return cls._create(
            cls.Enrolled, id=cls.id_for(org_id, device_id), org_id=org_id, device_id=device_id, name=name,
            dev_sign_pk=dev_sign_pk, dev_box_pk=dev_box_pk, requested_by=requested_by, requested_at=requested_at,
        )

    def is_stale(self, now: float) -> bool:
        return self.status == PENDING and now - self.requested_at > PENDING_TTL_SECONDS

    def attach_pairing_tag(self, tag: str) -> None:
        if self.status != PENDING or self.pairing_tag is not None:
            raise Conflict("Für diese Anfrage wurde der Kopplungsnachweis bereits übermittelt.", "tag")
        self.trigger_event(self.PairingTagAttached, tag=tag)

    def approve(self, cert: str, approved_at: str, approver: str, approver_tag: str, grant: dict[str, Any],
                now: float) -> None:
        if self.status != PENDING:
            raise Conflict("Dieses Gerät wurde bereits freigegeben oder entfernt.", "device_id")
        if self.is_stale(now):
            raise Conflict("Die Freigabeanfrage ist abgelaufen (älter als 24 Stunden). "
                           "Bitte das Gerät neu anmelden lassen.", "device_id")
        self.trigger_event(self.Approved, cert=cert, approved_at=approved_at, approver=approver,
                           approver_tag=approver_tag, grant=grant)

    def rename(self, name: str, cert: str) -> None:
        if self.status not in (APPROVED, LOCKED):
            raise Conflict("Nur freigegebene Geräte können umbenannt werden.", "name")
        self.trigger_event(self.Renamed, name=name, cert=cert)

    def lock(self, by: str) -> None:
        if self.status != APPROVED:
            raise Conflict("Nur freigegebene, nicht gesperrte Geräte können gesperrt werden.", "device_id")
        self.trigger_event(self.Locked, by=by)

    def unlock(self, by: str) -> None:
        if self.status != LOCKED:
            raise Conflict("Dieses Gerät ist nicht gesperrt.", "device_id")
        self.trigger_event(self.Unlocked, by=by)

    def revoke(self, by: str, revocation: str) -> None:
        if self.status == REVOKED:
            raise Conflict("Dieses Gerät ist bereits entfernt.", "device_id")
        self.trigger_event(self.Revoked, by=by, revocation=revocation)

    def add_grant(self, grant: dict[str, Any]) -> None:
        self.trigger_event(self.GrantAdded, grant=grant)

    @property
    def certified(self) -> bool:
        """Approved or locked: holds an org certificate and receives keyring grants."""
        return self.status in (APPROVED, LOCKED)

    @property
    def can_log_in(self) -> bool:
        return self.status == APPROVED

    @property
    def latest_grant(self) -> dict[str, Any] | None:
        return self.grants[max(self.grants)] if self.grants else None
