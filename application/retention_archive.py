"""Retention duties after an erasure (issue 15.2; Art. 17 (3) b DSGVO, § 147 AO, § 14b UStG).

When a practice is erased, its invoices (as issued: data and PDF) and its SEPA mandate evidence (account holder,
IBAN, BIC, mandate reference and date — what a bank or tax audit asks for) move into the retention archive, sealed
to the operator's retention key, and nothing else of the practice stays. Each entry is deleted the day after
its period ends: `retention_years` (default 8) after the end of the calendar year of the invoice, or of the
mandate's last use.

The month's SEPA file is written sealed to the same key and removed once its collection date has passed: the
bank has it by then, and the invoices keep the mandate data it was built from."""

from __future__ import annotations

import base64
import json
import logging
from datetime import date
from typing import Any
from uuid import UUID

from application.billing import amounts_of, collection_date, month_dir
from application.contracts import _contract, load
from application.services import Services
from domain.billing import BillingRun, Invoice

log = logging.getLogger("sprechzimmer.retention")


def keep_until(services: Services, last_day: date) -> date:
    """The last day of the period: `retention_years` after the end of `last_day`'s calendar year."""
    assert services.contracts is not None
    return date(last_day.year + services.contracts.billing.retention_years, 12, 31)


def _seal(services: Services, record: dict[str, Any]) -> bytes:
    assert services.contracts is not None
    return services.crypto.seal(services.contracts.billing.retention_public_key,
                                json.dumps(record, ensure_ascii=False, sort_keys=True).encode())


def archive_practice(services: Services, org_id: UUID, receipt: str) -> int:
    """Before the practice's key is destroyed (erasure): its invoices and mandate evidence into the archive.
    Idempotent (entries are keyed by invoice number and mandate reference); returns how many entries it wrote."""
    ports = services.contracts
    if ports is None or ports.archive is None:
        return 0
    invoices = [inv for inv in (load(services, Invoice.id_for(org_id, month), Invoice)
                                for month in ports.directory.invoice_months(org_id)) if inv is not None]
    mandates: dict[str, tuple[dict[str, Any], date]] = {}  # reference -> evidence, last use
    for invoice in invoices:
        issued_on = date.fromisoformat(invoice.issued_on)
        pdf = ports.documents.invoice_pdf(invoice, amounts_of(invoice), collection_date(services, issued_on))
        record = {"kind": "invoice", "number": invoice.number, "issued_on": invoice.issued_on,
                  "month": invoice.month, "recipient": invoice.recipient, "amounts": invoice.amounts,
                  "users": invoice.users, "sms": invoice.sms, "debit": invoice.debit,
                  "pdf": base64.b64encode(pdf).decode()}
        ports.archive.put("invoice:" + invoice.number, "invoice", receipt, keep_until(services, issued_on),
                          _seal(services, record))
        reference = invoice.debit.get("mandate_reference")
        if reference and (reference not in mandates or mandates[reference][1] < issued_on):
            mandates[reference] = (invoice.debit, issued_on)
    contract = _contract(services, org_id)
    if contract is not None and contract.bank and contract.bank.get("mandate_reference") not in mandates:
        mandates[contract.bank["mandate_reference"]] = (contract.bank, services.today())  # never used for a debit
    for reference, (evidence, last_use) in mandates.items():
        record = {"kind": "mandate", "mandate_reference": reference, "last_use": last_use.isoformat(),
                  **{k: evidence.get(k) for k in ("holder", "iban", "bic", "mandate_signed_on")}}
        ref = "mandate:" + services.crypto.h("vdc/v1/retention-mandate", reference).hex()[:32]
        ports.archive.put(ref, "mandate", receipt, keep_until(services, last_use), _seal(services, record))
    return len(invoices) + len(mandates)


def remove_collected_sepa_files(services: Services) -> int:
    """A month's SEPA file goes the day after its collection date."""
    if services.contracts is None or not services.contracts.billing.out_dir.is_dir():
        return 0
    removed = 0
    for directory in sorted(services.contracts.billing.out_dir.iterdir()):
        done: BillingRun | None = services.events.get(BillingRun.id_for(directory.name), BillingRun) \
            if directory.is_dir() else None
        if done is None or not done.sepa_file or date.fromisoformat(done.collection_date) >= services.today():
            continue
        path = month_dir(services, directory.name) / done.sepa_file
        if path.exists():
            path.unlink()
            removed += 1
    return removed


def job(services: Services) -> int:
    """Daily: archive entries whose period has ended, and SEPA files after their collection date."""
    purged = 0
    if services.contracts is not None and services.contracts.archive is not None:
        purged = services.contracts.archive.purge(services.today())
        if purged:
            log.info("retention archive: %d entries past their period deleted", purged)
    return purged + remove_collected_sepa_files(services)
