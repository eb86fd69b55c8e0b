"""The monthly invoice (Rechnung) as a PDF, rendered with fpdf2.

A built-in core font (Helvetica) keeps the output small and free of font files. Core fonts only know an 8-bit
code page; with cp1252 (`WinAnsiEncoding` in the PDF) that covers German umlauts, ß, € and the typographic
dashes. Characters outside it (a practice named "Łódź …") are transliterated (text-unidecode, which sepaxml
uses for the same reason) rather than making the whole billing run fail.

The output is reproducible for the same data (creation date = invoice date), so a repeated billing run
produces an identical document.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from fpdf import FPDF
from text_unidecode import unidecode

from domain.invoice import REVERSE_CHARGE_NOTE, InvoiceAmounts, format_eur

_ENCODING = "windows-1252"


@dataclass(frozen=True)
class InvoiceParty:
    name: str
    address_lines: tuple[str, ...]
    country: str = "DE"  # ISO 3166-1 alpha-2, for the e-invoice (Factur-X)
    vat_id: str | None = None  # the recipient's, on a reverse-charge invoice


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything printed on one invoice. § 14 Abs. 4 UStG asks for the seller's and recipient's name and
    address, the seller's tax number or VAT id, date, a unique number, the service period, net, rate, VAT and
    gross — hence the fields."""

    number: str
    issued_on: datetime.date
    period_start: datetime.date
    period_end: datetime.date
    seller: InvoiceParty
    seller_vat_id: str
    recipient: InvoiceParty
    amounts: InvoiceAmounts
    mandate_reference: str
    creditor_id: str
    collection_date: datetime.date | None = None


def _pdf_text(text: str) -> str:
    """Keep what cp1252 can show (umlauts stay umlauts); transliterate the rest, e.g. Ł → L."""
    out = []
    for char in text:
        try:
            char.encode(_ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            out.append(unidecode(char) or "?")
    return "".join(out)


def _de_date(day: datetime.date) -> str:
    return day.strftime("%d.%m.%Y")


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}".replace(".", ",") + " %"


class _InvoicePDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = _ENCODING
        self._footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", size=8)
        self.cell(0, 5, self._footer_text, align="C")


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as PDF bytes (A4, German)."""
    seller_line = " · ".join(_pdf_text(part) for part in (doc.seller.name, *doc.seller.address_lines))
    pdf = _InvoicePDF(footer_text=_pdf_text(f"{doc.seller.name} · USt-IdNr. {doc.seller_vat_id}"))
    pdf.set_creation_date(datetime.datetime.combine(doc.issued_on, datetime.time(), tzinfo=datetime.UTC))
    pdf.set_title(_pdf_text(f"Rechnung {doc.number}"))
    pdf.set_author(_pdf_text(doc.seller.name))
    pdf.set_lang("de-DE")
    pdf.set_auto_page_break(auto=True, margin=25)
    pdf.add_page()
    width = pdf.epw

    # Sender line above the address window (DIN 5008 style) and the recipient's address.
    pdf.set_font("helvetica", size=7)
    pdf.cell(width, 4, seller_line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("helvetica", size=11)
    for line in (doc.recipient.name, *doc.recipient.address_lines):
        pdf.cell(width, 5, _pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)

    pdf.set_font("helvetica", style="B", size=18)
    pdf.cell(width, 10, "Rechnung", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    header = [("Rechnungsnummer", doc.number), ("Rechnungsdatum", _de_date(doc.issued_on)),
              ("Leistungszeitraum", f"{_de_date(doc.period_start)} – {_de_date(doc.period_end)}")]
    if doc.recipient.vat_id:  # the recipient's VAT id, which a reverse-charge invoice must name (§ 14a UStG)
        header.append(("Ihre USt-IdNr.", doc.recipient.vat_id))
    for label, value in header:
        pdf.cell(45, 6, f"{label}:")
        pdf.cell(width - 45, 6, _pdf_text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)

    # Line items: description, quantity, unit price, amount.
    cols = (width - 75, 20, 27.5, 27.5)
    pdf.set_font("helvetica", style="B", size=10)
    for text, col, align in zip(
        ("Leistung", "Menge", "Einzelpreis", "Betrag"), cols, ("L", "R", "R", "R"), strict=True
    ):
        pdf.cell(col, 7, text, border="B", align=align)
    pdf.ln()
    pdf.set_font("helvetica", size=10)
    for item in doc.amounts.lines:
        values = (_pdf_text(item.description), str(item.quantity), format_eur(item.unit_price), format_eur(item.amount))
        for text, col, align in zip(values, cols, ("L", "R", "R", "R"), strict=True):
            pdf.cell(col, 7, text, align=align)
        pdf.ln()
    pdf.ln(3)

    label_width = width - 40
    for label, amount, bold in (
        ("Netto", doc.amounts.net, False),
        (f"USt. {_percent(doc.amounts.vat_rate)}", doc.amounts.vat, False),
        ("Brutto", doc.amounts.gross, True),
    ):
        pdf.set_font("helvetica", style="B" if bold else "", size=10)
        pdf.cell(label_width, 7, label, align="R", border="T" if bold else 0)
        pdf.cell(40, 7, format_eur(amount), align="R", border="T" if bold else 0, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)

    pdf.set_font("helvetica", size=10)
    if doc.amounts.reverse_charge:
        pdf.multi_cell(width, 5, _pdf_text(REVERSE_CHARGE_NOTE), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    when = f" am {_de_date(doc.collection_date)}" if doc.collection_date else ""
    pdf.multi_cell(
        width,
        5,
        _pdf_text(
            f"Der Betrag wird{when} per SEPA-Lastschrift eingezogen. "
            f"Mandatsreferenz {doc.mandate_reference}, Gläubiger-ID {doc.creditor_id}."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
