"""Invoice completeness (issue 15, item 6): every § 14 Abs. 4 UStG field on the invoice, reverse charge for a
practice abroad, and the invoice as Factur-X (PDF/A-3 with EN 16931 XML that validates against the XSD)."""

from __future__ import annotations

import dataclasses
import io
import xml.etree.ElementTree as ET
from decimal import Decimal

import facturx
import pypdf

from domain.invoice import REVERSE_CHARGE_NOTE, compute_invoice, format_eur
from domain.plans import PLANS
from infrastructure.facturx import RAM, invoice_xml, render_facturx_pdf
from infrastructure.invoice_pdf import InvoiceParty
from tests.unit.test_invoice_pdf import DOC

NS = {"ram": RAM}


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def test_every_paragraph_14_field_is_on_the_invoice() -> None:
    text = _text(render_facturx_pdf(DOC))
    a = DOC.amounts
    fields = {
        "Nr. 1 leistender Unternehmer, Name und Anschrift": ["Sprechzimmer GmbH", "Musterstraße 1", "10115 Berlin"],
        "Nr. 1 Leistungsempfänger, Name und Anschrift": ["Praxis Dr. Müller-Weiß", "Hauptstraße 5", "80331 München"],
        "Nr. 2 USt-IdNr. des leistenden Unternehmers": ["USt-IdNr. DE123456789"],
        "Nr. 3 Ausstellungsdatum": ["Rechnungsdatum: 01.06.2026"],
        "Nr. 4 fortlaufende Rechnungsnummer": ["Rechnungsnummer: 2026-000017"],
        "Nr. 5 Menge und Art der Leistung": ["Grundgebühr Tarif plus pro Benutzer und Monat", "SMS-Versand"],
        "Nr. 6 Zeitpunkt der Leistung (Leistungszeitraum)": ["Leistungszeitraum: 01.05.2026 – 31.05.2026"],
        "Nr. 7 Entgelt nach Steuersätzen": ["Netto " + format_eur(a.net)],
        "Nr. 8 Steuersatz und Steuerbetrag": ["USt. 19 % " + format_eur(a.vat)],
        "Bruttobetrag": ["Brutto " + format_eur(a.gross)],
    }
    for field, expected in fields.items():
        for part in expected:
            assert part in text, f"{field}: {part!r} fehlt"
    assert a.net + a.vat == a.gross and a.vat == (a.net * Decimal("0.19")).quantize(Decimal("0.01"))


def test_the_invoice_is_factur_x_with_valid_en16931_xml() -> None:
    pdf = render_facturx_pdf(DOC)
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert b"urn:cen.eu:en16931:2017" in xml  # the EN 16931 (comfort) profile
    meta = pypdf.PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert meta is not None and b"<pdfaid:part>3</pdfaid:part>" in meta.stream.get_data()  # PDF/A-3
    root = ET.fromstring(xml)
    assert root.findtext(".//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS) \
        == "DE123456789"
    total = root.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    assert total is not None and total.findtext("ram:GrandTotalAmount", namespaces=NS) == f"{DOC.amounts.gross:.2f}"
    assert root.findtext(".//ram:BillingSpecifiedPeriod/ram:StartDateTime/*", namespaces=NS) == "20260501"


def test_practice_abroad_pays_no_german_vat_and_the_invoice_says_why() -> None:
    amounts = compute_invoice(users=3, sms=42, plan=PLANS["plus"], reverse_charge=True)
    assert amounts.vat == 0 and amounts.gross == amounts.net and amounts.reverse_charge
    doc = dataclasses.replace(DOC, amounts=amounts, recipient=InvoiceParty(
        "Cabinet Dr. Dupont", ("Rue de la Paix 1", "99999 Paris"), "FR", vat_id="FR40303265045"))
    text = _text(render_facturx_pdf(doc))
    assert REVERSE_CHARGE_NOTE in text and "USt. 0 %" in text
    assert "Ihre USt-IdNr.: FR40303265045" in text  # § 14a Abs. 1 UStG: the recipient's VAT id
    root = ET.fromstring(invoice_xml(doc))
    assert facturx.xml_check_xsd(invoice_xml(doc), flavor="factur-x", level="en16931")
    assert {e.text for e in root.iterfind(".//ram:CategoryCode", NS)} == {"AE"}
    assert root.findtext(".//ram:BuyerTradeParty//ram:CountryID", namespaces=NS) == "FR"
    assert root.findtext(".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS) \
        == "FR40303265045"  # BT-48 (EN 16931 BR-AE-02)
    assert root.findtext(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReasonCode",
                         namespaces=NS) == "VATEX-EU-AE"
