"""Monthly billing for plus: the invoice of one organisation and month, the gap-free invoice number sequence,
and the record of a month's billing run.

Deterministic ids make every step idempotent: `Invoice.id_for(org, month)` exists at most once, a number is
issued by appending to the year's `InvoiceSequence` (optimistic concurrency on its version: two runs can never
issue the same number, and since the numbers and their invoices are saved in one transaction there are no gaps),
and `BillingRun.id_for(month)` marks a finished month. Sequence and run are global, PII-free events (no
org_id), so they stay readable for auditors after an organisation is erased; the invoice itself is the
organisation's and is encrypted and erased with it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Conflict, OrgAggregate, global_id, scoped_id
from domain.invoice import MAX_SEQUENCE, format_invoice_number


class Invoice(OrgAggregate):
    TOPIC = "sprechzimmer.Invoice"

    class Event(OrgAggregate.Event):
        TOPIC = "sprechzimmer.Invoice.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "sprechzimmer.Invoice.Created"

    class Issued(Created):
        TOPIC = "sprechzimmer.Invoice.Issued"
        number: str
        month: str
        issued_on: str
        users: int
        sms: int
        amounts: dict[str, Any]  # net, vat_rate, vat, gross as strings; lines
        recipient: dict[str, Any]  # name, address_lines
        debit: dict[str, Any]  # holder, iban, bic, mandate_reference, mandate_signed_on

    def __init__(self, org_id: UUID, number: str, month: str, issued_on: str, users: int, sms: int,
                 amounts: dict[str, Any], recipient: dict[str, Any], debit: dict[str, Any]):
        self.org_id = org_id
        self.number = number
        self.month = month
        self.issued_on = issued_on
        self.users = users
        self.sms = sms
        self.amounts = amounts
        self.recipient = recipient
        self.debit = debit

    @staticmethod
    def id_for(org_id: UUID, month: str) -> UUID:
        return scoped_id(org_id, "invoices", month)

    @classmethod
    def issue(cls, org_id: UUID, number: str, month: str, issued_on: str, users: int, sms: int,
              amounts: dict[str, Any], recipient: dict[str, Any], debit: dict[str, Any]) -> Invoice:
        return cls._create(cls.Issued, id=cls.id_for(org_id, month), org_id=org_id, number=number, month=month,
                           issued_on=issued_on, users=users, sms=sms, amounts=amounts, recipient=recipient,
                           debit=debit)


class InvoiceSequence(Aggregate):
    """Rechnungsnummernkreis of one year. Holds no personal data: only numbers and opaque invoice ids.

    The billing run takes its numbers a block at a time (`NumbersIssued`, one event for a batch of invoices
    saved in the same transaction): the sequence of a year then has a few events per month instead of one per
    invoice, so loading it stays cheap however many practices are billed. Years billed one number per event
    (`NumberIssued`) load as before."""

    TOPIC = "sprechzimmer.InvoiceSequence"

    class Event(Aggregate.Event):
        TOPIC = "sprechzimmer.InvoiceSequence.Event"

    class Created(Event, Aggregate.Created):
        TOPIC = "sprechzimmer.InvoiceSequence.Created"

    class Opened(Created):
        TOPIC = "sprechzimmer.InvoiceSequence.Opened"
        year: int

    class NumberIssued(Event):
        TOPIC = "sprechzimmer.InvoiceSequence.NumberIssued"
        number: str
        invoice_id: UUID

        def apply(self, sequence: InvoiceSequence) -> None:
            sequence.last += 1

    class NumbersIssued(Event):
        """The numbers `first` … `first + len(invoice_ids) - 1`, in the order of `invoice_ids`."""

        TOPIC = "sprechzimmer.InvoiceSequence.NumbersIssued"
        first: int
        invoice_ids: list[UUID]

        def apply(self, sequence: InvoiceSequence) -> None:
            sequence.last = self.first + len(self.invoice_ids) - 1

    def __init__(self, year: int):
        self.year = year
        self.last = 0  # the sequence number of the last issued invoice number

    @staticmethod
    def id_for(year: int) -> UUID:
        return global_id("invoice-sequences", str(year))

    @classmethod
    def open(cls, year: int) -> InvoiceSequence:
        return cls._create(cls.Opened, id=cls.id_for(year), year=year)

    def issue(self, invoice_ids: list[UUID]) -> list[str]:
        """The next numbers, one for each invoice id, without a gap after the last issued one."""
        if not invoice_ids:
            return []
        first = self.last + 1
        if first + len(invoice_ids) - 1 > MAX_SEQUENCE:
            raise Conflict("Der Rechnungsnummernkreis des Jahres ist erschöpft.")
        self.trigger_event(self.NumbersIssued, first=first, invoice_ids=list(invoice_ids))
        return [format_invoice_number(self.year, seq) for seq in range(first, self.last + 1)]


class BillingRun(Aggregate):
    """Marks a billed month: what a second run finds and then leaves alone. PII-free."""

    TOPIC = "sprechzimmer.BillingRun"

    class Event(Aggregate.Event):
        TOPIC = "sprechzimmer.BillingRun.Event"

    class Created(Event, Aggregate.Created):
        TOPIC = "sprechzimmer.BillingRun.Created"

    class Completed(Created):
        TOPIC = "sprechzimmer.BillingRun.Completed"
        month: str
        invoice_numbers: list[str]
        total_gross: str
        sepa_file: str | None  # file name under the billing directory
        sepa_sha256: str | None
        created_at: str  # what the SEPA header carries; a re-created file is byte-identical
        collection_date: str

    def __init__(self, month: str, invoice_numbers: list[str], total_gross: str, sepa_file: str | None,
                 sepa_sha256: str | None, created_at: str, collection_date: str):
        self.month = month
        self.invoice_numbers = invoice_numbers
        self.total_gross = total_gross
        self.sepa_file = sepa_file
        self.sepa_sha256 = sepa_sha256
        self.created_at = created_at
        self.collection_date = collection_date

    @staticmethod
    def id_for(month: str) -> UUID:
        return global_id("billing-runs", month)

    @classmethod
    def complete(cls, month: str, invoice_numbers: list[str], total_gross: str, sepa_file: str | None,
                 sepa_sha256: str | None, created_at: str, collection_date: str) -> BillingRun:
        return cls._create(cls.Completed, id=cls.id_for(month), month=month, invoice_numbers=invoice_numbers,
                           total_gross=total_gross, sepa_file=sepa_file, sepa_sha256=sepa_sha256,
                           created_at=created_at, collection_date=collection_date)
