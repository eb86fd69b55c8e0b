"""Read models of the contract context: the erasure schedule, the invoice index and usage counts.

None holds personal data: ids, plans, dates, invoice numbers and counts. Each offers `forget(org_id, cur)` so
an erasure removes the organisation's rows, and `SqlContractDirectory` answers the queries the contract,
billing and erasure use cases need (application.ports.ContractDirectory)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID

from application.retention import Kept, Retention
from domain.appointment import Appointment
from domain.billing import Invoice
from domain.contract import Contract
from domain.usage import UsageRecorded
from infrastructure.sql import Cursor, Database
from projections.runner import handled_topics, topics_of


class ContractSchedule:
    """One row per organisation with a contract: its final plan and, when cancelled, the end date."""

    name = "contracts"
    tables: ClassVar[dict[str, str]] = {"rm_contracts": "org_id"}  # table -> organisation column
    retention: ClassVar[dict[str, Retention]] = {"rm_contracts": Kept(
        "Vertragsende für Kündigung und Löschung; mit der Organisation gelöscht")}

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_contracts (org_id TEXT PRIMARY KEY, plan TEXT NOT NULL, "
                "ends_on TEXT)"]

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    @apply.register
    def _(self, event: Contract.Concluded, cur: Cursor) -> None:
        cur.execute("DELETE FROM rm_contracts WHERE org_id = %s", (str(event.org_id),))
        cur.execute("INSERT INTO rm_contracts (org_id, plan, ends_on) VALUES (%s, %s, NULL)",
                    (str(event.org_id), event.plan))

    @apply.register
    def _(self, event: Contract.Upgraded, cur: Cursor) -> None:
        cur.execute("UPDATE rm_contracts SET plan = 'plus' WHERE org_id = %s", (str(event.org_id),))

    @apply.register
    def _(self, event: Contract.DowngradeRequested, cur: Cursor) -> None:
        cur.execute("UPDATE rm_contracts SET plan = 'basis' WHERE org_id = %s", (str(event.org_id),))

    @apply.register
    def _(self, event: Contract.Cancelled, cur: Cursor) -> None:
        cur.execute("UPDATE rm_contracts SET ends_on = %s WHERE org_id = %s", (event.ends_on, str(event.org_id)))

    @apply.register
    def _(self, event: Contract.CancellationRevoked, cur: Cursor) -> None:
        cur.execute("UPDATE rm_contracts SET ends_on = NULL WHERE org_id = %s", (str(event.org_id),))

    topics = handled_topics(apply)  # the events it applies; no other is decoded for it


class InvoiceIndex:
    """Which invoices an organisation has, for GET /api/v1/invoices (the amounts live in the events)."""

    name = "invoices"
    tables: ClassVar[dict[str, str]] = {"rm_invoices": "org_id"}  # table -> organisation column
    retention: ClassVar[dict[str, Retention]] = {"rm_invoices": Kept(
        "Rechnungsnummern je Monat (§ 147 AO, § 14b UStG); bei der Löschung ins Aufbewahrungsarchiv")}

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_invoices (number TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
                "month TEXT NOT NULL)",
                "CREATE INDEX IF NOT EXISTS rm_invoices_org ON rm_invoices (org_id, month)"]

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    @apply.register
    def _(self, event: Invoice.Issued, cur: Cursor) -> None:
        cur.execute("INSERT INTO rm_invoices (number, org_id, month) VALUES (%s, %s, %s)",
                    (event.number, str(event.org_id), event.month))

    topics = handled_topics(apply)  # the events it applies; no other is decoded for it


# Events that count as billable usage, with how to read (kind, month) from each: every SMS the appointments
# context sent (invitation or reminder), and usage recorded directly.
# An SMS counts as many units as it had segments (events before v1.1 carry none: one).
COUNTED: dict[type, Callable[[Any], tuple[str, str, int]]] = {
    Appointment.SmsSent: lambda e: ("sms", e.month, int(getattr(e, "segments", 1))),
    UsageRecorded: lambda e: (e.kind, e.month, 1),
}


class UsageCounts:
    name = "usage"
    tables: ClassVar[dict[str, str]] = {"rm_usage": "org_id"}  # table -> organisation column
    retention: ClassVar[dict[str, Retention]] = {"rm_usage": Kept(
        "Mengen je Monat als Abrechnungsgrundlage, kein Zeitpunkt einer einzelnen Nutzung; mit der Organisation "
        "gelöscht")}

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_usage (org_id TEXT NOT NULL, month TEXT NOT NULL, kind TEXT NOT NULL, "
                "units BIGINT NOT NULL, PRIMARY KEY (org_id, month, kind))"]

    def apply(self, event: Any, cur: Cursor) -> None:
        read = COUNTED.get(type(event))
        if read is None:
            return
        kind, month, units = read(event)
        cur.execute("INSERT INTO rm_usage (org_id, month, kind, units) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (org_id, month, kind) DO UPDATE SET units = rm_usage.units + EXCLUDED.units",
                    (str(event.org_id), month, kind, units))

    topics = topics_of(COUNTED)  # the events it applies; no other is decoded for it


class SqlContractDirectory:
    """Queries over the read models above (implements application.ports.ContractDirectory)."""

    def __init__(self, db: Database):
        self.db = db

    def organisations(self, final_plan: str | None = None) -> list[UUID]:
        """Every organisation with a contract, or those whose plan is (or becomes) `final_plan`."""
        with self.db.transaction() as cur:
            if final_plan is None:
                rows = cur.execute("SELECT org_id FROM rm_contracts ORDER BY org_id").fetchall()
            else:
                rows = cur.execute("SELECT org_id FROM rm_contracts WHERE plan = %s ORDER BY org_id",
                                   (final_plan,)).fetchall()
        return [UUID(row[0]) for row in rows]

    def due_for_erasure(self, today: date) -> list[tuple[UUID, date]]:
        """Cancelled contracts whose end date has passed (the end date itself still works in full)."""
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT org_id, ends_on FROM rm_contracts WHERE ends_on IS NOT NULL AND ends_on < %s "
                               "ORDER BY ends_on, org_id", (today.isoformat(),)).fetchall()
        return [(UUID(row[0]), date.fromisoformat(row[1])) for row in rows]

    def invoice_months(self, org_id: UUID) -> list[str]:
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT month FROM rm_invoices WHERE org_id = %s ORDER BY month",
                               (str(org_id),)).fetchall()
        return [row[0] for row in rows]

    def invoiced(self, month: str) -> set[UUID]:
        """The organisations that have the month's invoice (one query for the billing run's pass)."""
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT org_id FROM rm_invoices WHERE month = %s", (month,)).fetchall()
        return {UUID(row[0]) for row in rows}

    def usage_of_month(self, month: str, kind: str) -> dict[UUID, int]:
        """Units of `kind` per organisation in a month (those without any are absent)."""
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT org_id, units FROM rm_usage WHERE month = %s AND kind = %s",
                               (month, kind)).fetchall()
        return {UUID(row[0]): int(row[1]) for row in rows}

    def usage(self, org_id: UUID, month: str, kind: str) -> int:
        with self.db.transaction() as cur:
            row = cur.execute("SELECT units FROM rm_usage WHERE org_id = %s AND month = %s AND kind = %s",
                              (str(org_id), month, kind)).fetchone()
        return int(row[0]) if row else 0
