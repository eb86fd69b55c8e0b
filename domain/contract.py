"""The contract (Vertrag) of an organisation: its plan and, for plus, the SEPA direct-debit mandate."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain.base import DomainError, OrgAggregate, scoped_id


class Contract(OrgAggregate):
    TOPIC = "sprechzimmer.Contract"

    class Event(OrgAggregate.Event):
        TOPIC = "sprechzimmer.Contract.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "sprechzimmer.Contract.Created"

    class Concluded(Created):
        TOPIC = "sprechzimmer.Contract.Concluded"
        plan: str
        concluded_on: str
        bank: dict[str, Any] | None

    def __init__(self, org_id: UUID, plan: str, concluded_on: str, bank: dict[str, Any] | None):
        self.org_id = org_id
        self.plan = plan
        self.concluded_on = concluded_on
        self.bank = bank

    @staticmethod
    def id_for(org_id: UUID) -> UUID:
        return scoped_id(org_id, "contract", "current")

    @classmethod
    def conclude(cls, org_id: UUID, plan: str, concluded_on: str, bank: dict[str, Any] | None) -> Contract:
        """Plus needs the bank data and mandate; basis stores none (SPEC §1 step 3)."""
        if plan == "plus" and not bank:
            raise DomainError("Für den Tarif plus sind Rechnungsdaten erforderlich.", "billing")
        if plan == "basis" and bank:
            raise DomainError("Im Tarif basis werden keine Rechnungsdaten gespeichert.", "billing")
        return cls._create(cls.Concluded, id=cls.id_for(org_id), org_id=org_id, plan=plan,
                           concluded_on=concluded_on, bank=bank)

    def plan_on(self, day: date) -> str:
        """The plan in force on `day` (a downgrade takes effect only at the end of the month)."""
        return self.plan

    @staticmethod
    def mandate_reference(org_id: UUID) -> str:
        """SEPA mandate reference: stable per organisation, at most 35 characters of the allowed set."""
        return "SPZ-" + org_id.hex[:20].upper()
