"""Monatsabrechnung for plus: one invoice per organisation and month, gap-free numbers, one SEPA direct-debit
file (pain.008) for the month, and the record that the month is done.

Idempotent and crash-safe by construction: an invoice has the deterministic id (organisation, month) and is
saved in one transaction with its number (a batch of invoices with their block of numbers), so a rerun after a
crash issues only the missing invoices and never leaves a gap; the file is written atomically from the invoices
(reproducible bytes); the `BillingRun` event is written last — once it exists, a further run for the month
changes nothing."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from application.contracts import _contract, load, today
from application.errors import Conflict, Invalid, NotFound, NotPermitted
from application.services import Services
from domain.billing import BillingRun, Invoice, InvoiceSequence
from domain.calendar_day import BERLIN
from domain.invoice import InvoiceAmounts, InvoiceLine, billing_period, compute_invoice, format_eur
from domain.organisation import Organisation
from domain.plans import PLANS, PLUS
from domain.usage import SMS
from domain.values import POSTCODE_ABROAD

log = logging.getLogger("sprechzimmer.billing")
MSG_PRENOTIFICATION = """Guten Tag,

anbei erhalten Sie die Rechnung {number} für {period} über {gross}.

Vorabankündigung (Pre-Notification) der SEPA-Lastschrift: Wir ziehen den Betrag am {collection} von Ihrem Konto
{iban} ein.
Mandatsreferenz: {mandate}
Gläubiger-Identifikationsnummer: {creditor_id}

Bitte sorgen Sie für ausreichende Deckung. Die Rechnung liegt als PDF mit eingebetteter E-Rechnung (Factur-X) bei.

Ihr Sprechzimmer-Team
"""


def collection_date(services: Services, issued_on: date) -> date:
    """The debit follows the pre-notification (the invoice mail of the billing run) by the agreed period:
    `PRENOTIFICATION_DAYS` (default 14, SEPA Core's rule unless the terms agree a shorter one)."""
    assert services.contracts is not None
    return issued_on + timedelta(days=services.contracts.billing.prenotification_days)


def _masked(iban: str) -> str:
    compact = iban.replace(" ", "")
    return compact[:4] + " **** " + compact[-4:]


def prenotify(services: Services, invoices: list[Invoice], collection: date) -> int:
    """Mails each invoice (PDF attached) with the debit's date and amount to the practice's main user. Once per
    invoice (outbox key): a rerun of the month sends nothing twice; a mail server that is down leaves the mail
    in the outbox, retried by its job, and does not stop the billing run."""
    assert services.contracts is not None
    sent = 0
    for invoice in invoices:
        organisation: Organisation | None = load(services, invoice.org_id, Organisation)
        email = organisation.contact_email if organisation else None
        if not email:
            continue
        first, last = billing_period(invoice.month)
        amounts = amounts_of(invoice)
        body = MSG_PRENOTIFICATION.format(
            number=invoice.number, period=f"{first.strftime('%d.%m.%Y')} – {last.strftime('%d.%m.%Y')}",
            gross=format_eur(amounts.gross), collection=collection.strftime("%d.%m.%Y"),
            iban=_masked(invoice.debit["iban"]), mandate=invoice.debit["mandate_reference"],
            creditor_id=services.contracts.billing.creditor_id)
        pdf = services.contracts.documents.invoice_pdf(invoice, amounts, collection)
        try:
            services.mailer.send(email, f"Rechnung {invoice.number} und Vorabankündigung der Lastschrift", body,
                                 key=f"prenotification:{invoice.number}",
                                 attachments=[(f"Rechnung-{invoice.number}.pdf", "application/pdf", pdf)])
            sent += 1
        except Exception as error:  # recorded in the outbox before sending: its job retries
            log.warning("pre-notification of an invoice not sent yet (%s); the outbox retries",
                        type(error).__name__)
    return sent


class BillingFailed(RuntimeError):
    """A month could not be billed: the job logs it, `/api/v1/status` shows the month as overdue and
    `billing run` exits non-zero — never silently nothing."""


@dataclass(frozen=True)
class BillingResult:
    month: str
    invoices: list[str]
    total_gross: Decimal
    sepa_path: Path | None
    already_done: bool


def sms_count(services: Services, org_id: UUID, month: str) -> int:
    """Billable SMS of an organisation in a month ('YYYY-MM'), counted by the usage read model from every
    event counted by projections.contracts (Appointment.SmsSent, UsageRecorded(kind="sms"))."""
    if services.contracts is None:
        return 0
    return services.contracts.directory.usage(org_id, month, SMS)


def month_dir(services: Services, month: str) -> Path:
    assert services.contracts is not None
    return services.contracts.billing.out_dir / month


def _amounts_data(amounts: InvoiceAmounts) -> dict[str, Any]:
    return {"net": str(amounts.net), "vat_rate": str(amounts.vat_rate), "vat": str(amounts.vat),
            "gross": str(amounts.gross), "reverse_charge": amounts.reverse_charge,
            "lines": [{"description": line.description, "quantity": line.quantity,
                       "unit_price": str(line.unit_price), "amount": str(line.amount)} for line in amounts.lines]}


def amounts_of(invoice: Invoice) -> InvoiceAmounts:
    a = invoice.amounts
    return InvoiceAmounts(
        lines=tuple(InvoiceLine(line["description"], int(line["quantity"]), Decimal(line["unit_price"]),
                                Decimal(line["amount"])) for line in a["lines"]),
        net=Decimal(a["net"]), vat_rate=Decimal(a["vat_rate"]), vat=Decimal(a["vat"]), gross=Decimal(a["gross"]),
        reverse_charge=bool(a.get("reverse_charge", False)))


def _recipient(organisation: Organisation) -> dict[str, Any]:
    profile = organisation.profile
    address = profile["address"]
    street = f"{address['street']} {address['number']}"
    lines = [street] + ([address["addition"]] if address.get("addition") else []) + \
        [f"{address['postcode']} {address['city']}"]
    recipient: dict[str, Any] = {"name": profile["organisation"]["name"], "address_lines": lines}
    if profile["organisation"].get("vat_id"):  # printed on reverse-charge invoices (§ 14a Abs. 1 UStG)
        recipient["vat_id"] = profile["organisation"]["vat_id"]
    return recipient


# Invoices saved per transaction, with their block of numbers: each save pays one read-model catch-up and one
# round trip instead of one per invoice, and a crash loses at most the batch in flight (saved in full or not at
# all, so never a gap). A few hundred keep a batch's events well below any statement or memory limit.
BATCH = 250


@dataclass(frozen=True)
class _Draft:
    """What an invoice of a month will say, before it has its number."""

    org_id: UUID
    users: int
    sms: int
    amounts: dict[str, Any]
    recipient: dict[str, Any]
    debit: dict[str, Any]


def _draft(services: Services, org_id: UUID, month: str, sms: int) -> _Draft | None:
    """The month's invoice of a plus organisation with a mandate; None if nothing is owed."""
    contract = _contract(services, org_id)
    _, last_day = billing_period(month)
    if contract is None or contract.plan_on(last_day) != PLUS or contract.bank is None:
        return None
    organisation: Organisation | None = load(services, org_id, Organisation)
    if organisation is None:
        return None
    users = sum(1 for user in organisation.users.values() if user.active)
    abroad = organisation.profile["address"]["postcode"] == POSTCODE_ABROAD
    amounts = compute_invoice(users=users, sms=sms, plan=PLANS[PLUS], reverse_charge=abroad)
    bank = contract.bank
    return _Draft(org_id, users, sms, _amounts_data(amounts), _recipient(organisation),
                  {"holder": bank["holder"], "iban": bank["iban"], "bic": bank["bic"],
                   "mandate_reference": bank["mandate_reference"], "mandate_signed_on": bank["mandate_signed_on"]})


class _Issuer:
    """Numbers drafts a batch at a time from the year's sequence and saves each batch with its numbers in one
    transaction. The sequence is loaded once and kept across batches (it is current after each save); only a
    conflict — another run took numbers first, or issued some of the batch's invoices — makes it reload."""

    def __init__(self, services: Services, month: str, issued_on: date):
        self.services, self.month, self.issued_on = services, month, issued_on
        self.sequence: InvoiceSequence | None = None

    def save(self, drafts: list[_Draft]) -> list[Invoice]:
        """The batch's invoices, issued now or (after a conflict) found issued already."""
        services, month = self.services, self.month
        found: list[Invoice] = []
        for _attempt in range(20):
            if not drafts:
                return found
            if self.sequence is None:
                year = self.issued_on.year
                self.sequence = (services.events.get(InvoiceSequence.id_for(year), InvoiceSequence)
                                 or InvoiceSequence.open(year))
            numbers = self.sequence.issue([Invoice.id_for(draft.org_id, month) for draft in drafts])
            invoices = [Invoice.issue(draft.org_id, number, month, self.issued_on.isoformat(), draft.users,
                                      draft.sms, draft.amounts, draft.recipient, draft.debit)
                        for draft, number in zip(drafts, numbers, strict=True)]
            try:
                services.commit(self.sequence, *invoices)
                return found + invoices
            except Conflict:  # nothing of the batch was written; the numbers are free again
                self.sequence = None
                remaining = []
                for draft in drafts:
                    raced: Invoice | None = load(services, Invoice.id_for(draft.org_id, month), Invoice)
                    if raced is not None:
                        found.append(raced)
                    else:
                        remaining.append(draft)
                drafts = remaining
        raise BillingFailed(f"no invoice number could be taken for {month}")


def _issue_invoice(services: Services, org_id: UUID, month: str, issued_on: date) -> Invoice | None:
    """Issues the month's invoice of one organisation unless it exists; None if nothing is owed."""
    existing: Invoice | None = load(services, Invoice.id_for(org_id, month), Invoice)
    if existing is not None:
        return existing
    draft = _draft(services, org_id, month, sms_count(services, org_id, month))
    if draft is None:
        return None
    return _Issuer(services, month, issued_on).save([draft])[0]


# Loading a practice's contract and organisation takes two reads of the store; on PostgreSQL each waits on the
# network far longer than it computes. A few threads overlap those waits (the services are used from worker
# threads anyway); `map` keeps the order, so the numbers still follow the organisations' order.
LOADERS = 4


def _prepare(services: Services, month: str, invoiced: set[UUID], usage: dict[UUID, int],
             org_id: UUID) -> Invoice | _Draft | None:
    """The organisation's invoice of the month if it exists already, else its draft (None: nothing owed)."""
    if org_id in invoiced:
        existing: Invoice | None = load(services, Invoice.id_for(org_id, month), Invoice)
        if existing is not None:
            return existing
    return _draft(services, org_id, month, usage.get(org_id, 0))


def _issue_month(services: Services, month: str, issued_on: date) -> list[Invoice]:
    """Every invoice of the month, in number order: one pass over the organisations with a contract, the
    usage and the invoices already issued (a rerun after a crash) read in one query each; the missing
    invoices issued in batches. Linear in the number of organisations."""
    assert services.contracts is not None
    directory = services.contracts.directory
    invoiced = directory.invoiced(month)
    usage = directory.usage_of_month(month, SMS)
    organisations = directory.organisations()
    issuer = _Issuer(services, month, issued_on)
    invoices: list[Invoice] = []
    prepare = functools.partial(_prepare, services, month, invoiced, usage)
    with ThreadPoolExecutor(LOADERS, thread_name_prefix="billing") as pool:
        for start in range(0, len(organisations), BATCH):
            drafts = []
            for prepared in pool.map(prepare, organisations[start:start + BATCH]):
                if isinstance(prepared, Invoice):
                    invoices.append(prepared)
                elif prepared is not None:
                    drafts.append(prepared)
            invoices += issuer.save(drafts)
    return sorted(invoices, key=lambda inv: inv.number)


def _sepa_file(services: Services, month: str, invoices: list[Invoice], created_at: datetime,
               collection: date) -> bytes:
    assert services.contracts is not None
    return services.contracts.documents.direct_debit_file(month, invoices, created_at, collection)


def _write_atomically(services: Services, path: Path, data: bytes) -> None:
    """The SEPA file holds every practice's account holder and IBAN: it is written sealed to the operator's
    retention key (`sprechzimmer billing sepa-export` opens it for the bank), readable by the service's user
    only, and deleted after its collection date (application/retention_archive.py)."""
    assert services.contracts is not None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    sealed = services.crypto.seal(services.contracts.billing.retention_public_key, data)
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(sealed)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def run(services: Services, month: str) -> BillingResult:
    """`sprechzimmer billing run --month YYYY-MM` and the monthly job."""
    try:
        _, last_day = billing_period(month)
    except ValueError:
        raise Invalid("Bitte den Monat als JJJJ-MM angeben.", "month") from None
    assert services.contracts is not None
    now = services.clock()
    if services.today() <= last_day:
        raise Invalid("Ein Monat kann erst nach seinem Ende abgerechnet werden.", "month")
    done: BillingRun | None = services.events.get(BillingRun.id_for(month), BillingRun)
    if done is not None:
        path = month_dir(services, month) / done.sepa_file if done.sepa_file else None
        if path is not None and not path.exists():  # lost file: rebuilt byte-identically from the invoices
            invoices = [inv for inv in _month_invoices(services, month) if inv.number in done.invoice_numbers]
            data = _sepa_file(services, month, invoices, datetime.fromisoformat(done.created_at),
                              date.fromisoformat(done.collection_date))
            if hashlib.sha256(data).hexdigest() == done.sepa_sha256:
                _write_atomically(services, path, data)
        return BillingResult(month, list(done.invoice_numbers), Decimal(done.total_gross), path, True)

    issued_on = today(services)
    invoices = _issue_month(services, month, issued_on)
    total = sum((Decimal(inv.amounts["gross"]) for inv in invoices), Decimal("0.00"))
    created_at = now.astimezone(BERLIN).replace(tzinfo=None, microsecond=0)
    collection = collection_date(services, issued_on)
    path, digest = None, None
    if invoices:
        data = _sepa_file(services, month, invoices, created_at, collection)
        path = month_dir(services, month) / f"sepa-lastschrift-{month}.xml"
        _write_atomically(services, path, data)
        digest = hashlib.sha256(data).hexdigest()
        prenotify(services, invoices, collection)
    record = BillingRun.complete(month, [inv.number for inv in invoices], str(total),
                                 path.name if path else None, digest, created_at.isoformat(), collection.isoformat())
    try:
        services.commit(record)
    except Conflict:  # a concurrent run finished first with the same invoices
        if services.events.get(BillingRun.id_for(month), BillingRun) is None:
            raise BillingFailed(f"the billing run of {month} could not be recorded") from None
        return run(services, month)
    log.info("billing %s: %d invoices", month, len(invoices))
    return BillingResult(month, record.invoice_numbers, total, path, False)


def _month_invoices(services: Services, month: str) -> list[Invoice]:
    assert services.contracts is not None
    found = []
    for org_id in services.contracts.directory.organisations():
        invoice: Invoice | None = load(services, Invoice.id_for(org_id, month), Invoice)
        if invoice is not None:
            found.append(invoice)
    return sorted(found, key=lambda inv: inv.number)


def previous_month(day: date) -> str:
    return (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def monthly_job(services: Services) -> int:
    """Runs hourly; from the first day of a month it bills the previous month once (a no-op afterwards).
    A failure is logged as such (and the month shows as overdue in /api/v1/status); the next run retries."""
    if services.contracts is None:
        return 0
    month = previous_month(today(services))
    if services.events.get(BillingRun.id_for(month), BillingRun) is not None:
        return 0
    try:
        return len(run(services, month).invoices)
    except Exception as error:
        log.error("billing of %s FAILED (%s); retried on the next run", month, type(error).__name__)
        raise


OVERDUE_AFTER = timedelta(hours=3)  # the hourly job has had three chances by then


def status(services: Services) -> dict[str, str]:
    """For /api/v1/status: the month that is due for billing and whether it is billed ("ok"), still within
    the first hours of the month ("pending") or "overdue" — which an operator must look at."""
    day = today(services)
    month = previous_month(day)
    if services.events.get(BillingRun.id_for(month), BillingRun) is not None:
        return {"month": month, "state": "ok"}
    first = datetime(day.year, day.month, 1, tzinfo=BERLIN)
    return {"month": month, "state": "overdue" if services.clock() >= first + OVERDUE_AFTER else "pending"}


# --- the organisation's own view -------------------------------------------------------------------


def invoices_of(services: Services, org_id: UUID, role: str) -> list[Invoice]:
    if role != "admin":
        raise NotPermitted("Nur Administratoren dürfen Rechnungen einsehen.")
    assert services.contracts is not None
    found = [services.events.get(Invoice.id_for(org_id, month), Invoice)
             for month in services.contracts.directory.invoice_months(org_id)]
    return [inv for inv in found if inv is not None]


def invoice_pdf(services: Services, org_id: UUID, role: str, number: str) -> bytes:
    invoice = next((inv for inv in invoices_of(services, org_id, role) if inv.number == number), None)
    if invoice is None:
        raise NotFound("Diese Rechnung gibt es nicht.")
    assert services.contracts is not None
    collection = collection_date(services, date.fromisoformat(invoice.issued_on))
    return services.contracts.documents.invoice_pdf(invoice, amounts_of(invoice), collection)
