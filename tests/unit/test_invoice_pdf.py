"""The invoice PDF: a real PDF whose extracted text carries the invoice's data."""

from __future__ import annotations

import dataclasses
import datetime
import io

import pypdf
import pytest

from domain.invoice import compute_invoice, format_eur
from domain.plans import PLANS
from infrastructure.invoice_pdf import InvoiceDocument, InvoiceParty, render_invoice_pdf

AMOUNTS = compute_invoice(users=3, sms=42, plan=PLANS["plus"])
DOC = InvoiceDocument(
    number="2026-000017",
    issued_on=datetime.date(2026, 6, 1),
    period_start=datetime.date(2026, 5, 1),
    period_end=datetime.date(2026, 5, 31),
    seller=InvoiceParty("Sprechzimmer GmbH", ("Musterstraße 1", "10115 Berlin")),
    seller_vat_id="DE123456789",
    recipient=InvoiceParty("Praxis Dr. Müller-Weiß", ("Hauptstraße 5", "80331 München")),
    amounts=AMOUNTS,
    mandate_reference="SPZ-MANDAT-0001",
    creditor_id="DE29ZZZ00001983485",
    collection_date=datetime.date(2026, 6, 5),
)


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    # Whitespace normalised: where the layout wraps a line is not what these tests are about.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_is_a_pdf_with_one_page() -> None:
    pdf = render_invoice_pdf(DOC)
    assert pdf.startswith(b"%PDF-")
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1


def test_text_carries_number_dates_recipient_and_amounts() -> None:
    text = _text(render_invoice_pdf(DOC))
    for expected in (
        "Rechnung",
        "2026-000017",
        "01.06.2026",
        "01.05.2026 – 31.05.2026",
        "Praxis Dr. Müller-Weiß",  # umlauts and ß survive the core font
        "80331 München",
        "Netto",
        "USt. 19 %",
        "Brutto",
        format_eur(AMOUNTS.net),
        format_eur(AMOUNTS.vat),
        format_eur(AMOUNTS.gross),
        "SEPA-Lastschrift eingezogen",
        "Mandatsreferenz SPZ-MANDAT-0001",
        "Gläubiger-ID DE29ZZZ00001983485",
        "DE123456789",
    ):
        assert expected in text, expected
    for line in AMOUNTS.lines:
        assert line.description in text
        assert format_eur(line.amount) in text


def test_values_come_from_the_document() -> None:
    # A different invoice renders different text: nothing above is a constant of the template.
    other = dataclasses.replace(
        DOC, number="2027-000001", amounts=compute_invoice(users=7, sms=0, plan=PLANS["plus"]), mandate_reference="M-9"
    )
    text = _text(render_invoice_pdf(other))
    assert "2027-000001" in text and "2026-000017" not in text
    assert format_eur(other.amounts.gross) in text and format_eur(AMOUNTS.gross) not in text
    assert "Mandatsreferenz M-9" in text


def test_same_invoice_renders_identically() -> None:
    assert render_invoice_pdf(DOC) == render_invoice_pdf(DOC)


def test_characters_outside_the_core_font_are_transliterated_not_fatal() -> None:
    doc = dataclasses.replace(DOC, recipient=InvoiceParty("Gabinet Łódź", ("ul. Piotrkowska 1", "90-001 Łódź")))
    # ó is in cp1252 and stays, Ł and ź are not and are transliterated.
    assert "Gabinet Lódz" in _text(render_invoice_pdf(doc))


@pytest.mark.parametrize("lines", [0, 12])
def test_address_length_does_not_break_the_layout(lines: int) -> None:
    doc = dataclasses.replace(DOC, recipient=InvoiceParty("Praxis", tuple(f"Zeile {n}" for n in range(lines))))
    text = _text(render_invoice_pdf(doc))
    assert "Brutto" in text and "Gläubiger-ID" in text
