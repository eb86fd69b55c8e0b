"""The contract (Vertrag) of an organisation: its plan over time, the SEPA direct-debit mandate for plus, and
the cancellation (Kündigung) with its end date.

The plan is kept as a schedule of (first day, plan) entries, so `plan_on(day)` answers for any day without a
clock: a downgrade requested today is recorded now and takes effect at the end of the month by itself."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain.base import Conflict, DomainError, OrgAggregate, scoped_id
from domain.notice import contract_end_date, plan_downgrade_effective
from domain.plans import BASIS, PLUS

MSG_CONFIRM = "Bitte bestätigen Sie die Kündigung und die anschließende Löschung Ihres Benutzerkontos."
MSG_ALREADY_CANCELLED = "Der Vertrag ist bereits gekündigt."
MSG_NOT_CANCELLED = "Es liegt keine Kündigung vor, die widerrufen werden könnte."
MSG_TOO_LATE = "Die Kündigungsfrist ist abgelaufen; die Kündigung kann nicht mehr widerrufen werden."
MSG_CANCELLED_NO_CHANGE = ("Der Vertrag ist gekündigt. Ein Tarifwechsel ist erst nach dem Widerruf der Kündigung "
                           "möglich.")
MSG_ALREADY_PLUS = "Die Organisation nutzt bereits den Tarif plus."
MSG_ALREADY_BASIS = "Die Organisation wechselt bereits zum Tarif basis oder nutzt ihn schon."
MSG_BANK_REQUIRED = "Für den Tarif plus sind Rechnungsdaten erforderlich."


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

    class Upgraded(Event):
        """Vertragswechsel basis → plus, in force from `on`, with the new SEPA mandate."""

        TOPIC = "sprechzimmer.Contract.Upgraded"
        on: str
        bank: dict[str, Any]

        def apply(self, contract: Contract) -> None:
            day = date.fromisoformat(self.on)
            contract.schedule = [entry for entry in contract.schedule if entry[0] < day] + [(day, PLUS)]
            contract.bank = self.bank

    class DowngradeRequested(Event):
        """Vertragswechsel plus → basis: the paid month runs out, basis applies from `effective_from`."""

        TOPIC = "sprechzimmer.Contract.DowngradeRequested"
        requested_on: str
        effective_from: str

        def apply(self, contract: Contract) -> None:
            contract.schedule.append((date.fromisoformat(self.effective_from), BASIS))

    class BankDataDeleted(Event):
        """The bank data left the current state once basis applied and the last plus month was invoiced.
        The earlier events still hold it, encrypted under the organisation's key, until the erasure."""

        TOPIC = "sprechzimmer.Contract.BankDataDeleted"
        on: str

        def apply(self, contract: Contract) -> None:
            contract.bank = None

    class Cancelled(Event):
        TOPIC = "sprechzimmer.Contract.Cancelled"
        cancelled_on: str
        ends_on: str

        def apply(self, contract: Contract) -> None:
            contract.cancelled_on = self.cancelled_on
            contract.ends_on = self.ends_on

    class CancellationRevoked(Event):
        """Kündigung widerrufen: the cancellation and its period are gone (a new one starts from zero)."""

        TOPIC = "sprechzimmer.Contract.CancellationRevoked"
        revoked_on: str

        def apply(self, contract: Contract) -> None:
            contract.cancelled_on = None
            contract.ends_on = None

    def __init__(self, org_id: UUID, plan: str, concluded_on: str, bank: dict[str, Any] | None):
        self.org_id = org_id
        self.plan = plan
        self.concluded_on = concluded_on
        self.bank = bank
        self.schedule: list[tuple[date, str]] = [(date.fromisoformat(concluded_on), plan)]
        self.cancelled_on: str | None = None
        self.ends_on: str | None = None

    @staticmethod
    def id_for(org_id: UUID) -> UUID:
        return scoped_id(org_id, "contract", "current")

    @classmethod
    def conclude(cls, org_id: UUID, plan: str, concluded_on: str, bank: dict[str, Any] | None) -> Contract:
        """Plus needs the bank data and mandate; basis stores none (SPEC §1 step 3)."""
        if plan == "plus" and not bank:
            raise DomainError(MSG_BANK_REQUIRED, "billing")
        if plan == "basis" and bank:
            raise DomainError("Im Tarif basis werden keine Rechnungsdaten gespeichert.", "billing")
        return cls._create(cls.Concluded, id=cls.id_for(org_id), org_id=org_id, plan=plan,
                           concluded_on=concluded_on, bank=bank)

    # --- queries ----------------------------------------------------------------------------------

    def plan_on(self, day: date) -> str:
        """The plan in force on `day` (a downgrade takes effect only at the end of the month)."""
        plan = self.schedule[0][1]
        for first_day, scheduled in sorted(self.schedule, key=lambda entry: entry[0]):
            if first_day <= day:
                plan = scheduled
        return plan

    @property
    def final_plan(self) -> str:
        """The plan once every recorded change has taken effect."""
        return max(self.schedule, key=lambda entry: entry[0])[1]

    def pending_change(self, day: date) -> tuple[date, str] | None:
        later = [entry for entry in self.schedule if entry[0] > day]
        return min(later, key=lambda entry: entry[0]) if later else None

    @property
    def is_cancelled(self) -> bool:
        return self.ends_on is not None

    @property
    def end_date(self) -> date | None:
        return date.fromisoformat(self.ends_on) if self.ends_on else None

    def bank_data_obsolete(self, day: date) -> bool:
        """Bank data is no longer needed once basis applies (the last plus month is billed separately)."""
        return self.bank is not None and self.plan_on(day) == BASIS and self.final_plan == BASIS

    @staticmethod
    def mandate_reference(org_id: UUID) -> str:
        """SEPA mandate reference: stable per organisation, at most 35 characters of the allowed set."""
        return "SPZ-" + org_id.hex[:20].upper()

    # --- commands ---------------------------------------------------------------------------------

    def upgrade(self, on: date, bank: dict[str, Any]) -> None:
        if self.is_cancelled:
            raise Conflict(MSG_CANCELLED_NO_CHANGE, "plan")
        if self.final_plan == PLUS:
            raise Conflict(MSG_ALREADY_PLUS, "plan")
        if not bank:
            raise DomainError(MSG_BANK_REQUIRED, "billing")
        self.trigger_event(self.Upgraded, on=on.isoformat(), bank=bank)

    def downgrade(self, on: date) -> date:
        if self.is_cancelled:
            raise Conflict(MSG_CANCELLED_NO_CHANGE, "plan")
        if self.final_plan != PLUS:
            raise Conflict(MSG_ALREADY_BASIS, "plan")
        effective = plan_downgrade_effective(on)
        self.trigger_event(self.DowngradeRequested, requested_on=on.isoformat(), effective_from=effective.isoformat())
        return effective

    def delete_bank_data(self, on: date) -> None:
        if not self.bank_data_obsolete(on):
            raise Conflict("Die Rechnungsdaten werden noch benötigt.", "billing")
        self.trigger_event(self.BankDataDeleted, on=on.isoformat())

    def cancel(self, on: date, confirmed: bool) -> date:
        if confirmed is not True:
            raise DomainError(MSG_CONFIRM, "confirm")
        if self.is_cancelled:
            raise Conflict(MSG_ALREADY_CANCELLED, "cancellation")
        ends = contract_end_date(on)
        self.trigger_event(self.Cancelled, cancelled_on=on.isoformat(), ends_on=ends.isoformat())
        return ends

    def revoke_cancellation(self, on: date) -> None:
        """Possible up to and including the end date, never after (the erasure is due then)."""
        end = self.end_date
        if end is None:
            raise Conflict(MSG_NOT_CANCELLED, "cancellation")
        if on > end:
            raise Conflict(MSG_TOO_LATE, "cancellation")
        self.trigger_event(self.CancellationRevoked, revoked_on=on.isoformat())
