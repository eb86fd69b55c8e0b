"""The billing documents of an invoiced month: the SEPA direct-debit file (pain.008) and invoice PDFs (fpdf2),
built from the domain's invoices and the operator's billing set-up (implements application.ports.BillingDocuments)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from application.ports import BillingSetup
from domain.billing import Invoice
from domain.invoice import InvoiceAmounts, billing_period
from domain.values import POSTCODE_ABROAD
from infrastructure.facturx import render_facturx_pdf
from infrastructure.invoice_pdf import InvoiceDocument, InvoiceParty
from infrastructure.sepa import Creditor, Debit, build_direct_debit_file


def _country(invoice: Invoice) -> str:
    """The registration asks no country: postcode 99999 marks an address abroad, whose country is taken from
    the IBAN the practice pays from (its first two letters are the account's country)."""
    lines = invoice.recipient["address_lines"]
    if lines and str(lines[-1]).startswith(POSTCODE_ABROAD):
        return str(invoice.debit["iban"]).replace(" ", "")[:2].upper()
    return "DE"


class SepaAndPdfDocuments:
    def __init__(self, setup: BillingSetup):
        self.setup = setup

    def direct_debit_file(self, month: str, invoices: list[Invoice], created_at: datetime,
                          collection: date) -> bytes:
        first, _ = billing_period(month)
        debits = [Debit(
            debtor_name=inv.debit["holder"], iban=inv.debit["iban"], bic=inv.debit["bic"],
            amount=Decimal(inv.amounts["gross"]), mandate_reference=inv.debit["mandate_reference"],
            mandate_signed_on=date.fromisoformat(inv.debit["mandate_signed_on"]),
            description=f"Sprechzimmer Rechnung {inv.number} {first.strftime('%m/%Y')}", end_to_end_id=inv.number,
        ) for inv in invoices]
        setup = self.setup
        creditor = Creditor(setup.creditor_name, setup.creditor_iban, setup.creditor_bic, setup.creditor_id)
        return build_direct_debit_file(creditor, debits, collection, f"SPZ-{month}", created_at)

    def invoice_pdf(self, invoice: Invoice, amounts: InvoiceAmounts, collection: date) -> bytes:
        setup = self.setup
        start, end = billing_period(invoice.month)
        # Factur-X: the readable PDF carries the EN 16931 XML (PDF/A-3), one document for people and software.
        return render_facturx_pdf(InvoiceDocument(
            number=invoice.number, issued_on=date.fromisoformat(invoice.issued_on), period_start=start,
            period_end=end, seller=InvoiceParty(setup.creditor_name, setup.seller_address),
            seller_vat_id=setup.seller_vat_id,
            recipient=InvoiceParty(invoice.recipient["name"], tuple(invoice.recipient["address_lines"]),
                                   _country(invoice), invoice.recipient.get("vat_id")),
            amounts=amounts, mandate_reference=invoice.debit["mandate_reference"], creditor_id=setup.creditor_id,
            collection_date=collection))
