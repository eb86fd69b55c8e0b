"""The invoice as Factur-X / ZUGFeRD (EN 16931 profile): the invoice PDF turned into PDF/A-3 with the Cross
Industry Invoice XML embedded — the structured e-invoice German B2B invoicing requires (§ 14 Abs. 1 UStG as of
2025). The PyPI library `factur-x` embeds the XML, writes the PDF/A-3 metadata and checks the XML against the
Factur-X XSD before a document leaves (a ValueError/Exception otherwise, never a broken e-invoice)."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import facturx

from infrastructure.invoice_pdf import InvoiceDocument, render_invoice_pdf

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
EN16931 = "urn:cen.eu:en16931:2017"
_POSTCODE_CITY = re.compile(r"(?P<postcode>\d{5})\s+(?P<city>.+)")
ABROAD = "99999"
for prefix, uri in (("rsm", RSM), ("ram", RAM), ("udt", UDT)):
    ET.register_namespace(prefix, uri)


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    ns, _, local = name.partition(":")
    element = ET.SubElement(parent, f"{{{ {'rsm': RSM, 'ram': RAM, 'udt': UDT}[ns] }}}{local}", attrs)
    if text is not None:
        element.text = text
    return element


def _date(parent: ET.Element, name: str, day: datetime.date) -> None:
    _el(_el(parent, name), "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _address(parent: ET.Element, lines: tuple[str, ...], country: str) -> None:
    """German addresses end in "PLZ Ort"; 99999 marks an address abroad (no German postcode to give)."""
    address = _el(parent, "ram:PostalTradeAddress")
    match = _POSTCODE_CITY.fullmatch(lines[-1]) if lines else None
    if match and match["postcode"] != ABROAD:
        _el(address, "ram:PostcodeCode", match["postcode"])
    if len(lines) > 1:
        _el(address, "ram:LineOne", lines[0])
    if len(lines) > 2:
        _el(address, "ram:LineTwo", " ".join(lines[1:-1]))
    _el(address, "ram:CityName", match["city"] if match else lines[-1])
    _el(address, "ram:CountryID", country)


def invoice_xml(doc: InvoiceDocument) -> bytes:
    """The Cross Industry Invoice (EN 16931) of one invoice."""
    amounts = doc.amounts
    category = "AE" if amounts.reverse_charge else "S"  # AE: reverse charge; S: standard rate
    rate = f"{(amounts.vat_rate * 100).normalize():f}"
    root = ET.Element(f"{{{RSM}}}CrossIndustryInvoice")
    _el(_el(_el(root, "rsm:ExchangedDocumentContext"), "ram:GuidelineSpecifiedDocumentContextParameter"),
        "ram:ID", EN16931)
    header = _el(root, "rsm:ExchangedDocument")
    _el(header, "ram:ID", doc.number)
    _el(header, "ram:TypeCode", "380")  # commercial invoice
    _date(header, "ram:IssueDateTime", doc.issued_on)
    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for n, line in enumerate(amounts.lines, start=1):
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(n))
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
        _el(_el(_el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice"),
            "ram:ChargeAmount", _amount(line.unit_price))
        _el(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", str(line.quantity), unitCode="C62")
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:CategoryCode", category)
        _el(tax, "ram:RateApplicablePercent", rate)
        _el(_el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
            _amount(line.amount))

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    seller = _el(agreement, "ram:SellerTradeParty")
    _el(seller, "ram:Name", doc.seller.name)
    _address(seller, doc.seller.address_lines, doc.seller.country)
    _el(_el(seller, "ram:SpecifiedTaxRegistration"), "ram:ID", doc.seller_vat_id, schemeID="VA")
    buyer = _el(agreement, "ram:BuyerTradeParty")
    _el(buyer, "ram:Name", doc.recipient.name)
    _address(buyer, doc.recipient.address_lines, doc.recipient.country)
    if doc.recipient.vat_id:  # BT-48, which EN 16931 asks for under reverse charge (BR-AE-02)
        _el(_el(buyer, "ram:SpecifiedTaxRegistration"), "ram:ID", doc.recipient.vat_id, schemeID="VA")
    _el(transaction, "ram:ApplicableHeaderTradeDelivery")

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:CreditorReferenceID", doc.creditor_id)
    _el(settlement, "ram:InvoiceCurrencyCode", "EUR")
    _el(_el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans"), "ram:TypeCode", "59")  # SEPA direct debit
    tax = _el(settlement, "ram:ApplicableTradeTax")
    _el(tax, "ram:CalculatedAmount", _amount(amounts.vat))
    _el(tax, "ram:TypeCode", "VAT")
    if amounts.reverse_charge:
        _el(tax, "ram:ExemptionReason", "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)")
    _el(tax, "ram:BasisAmount", _amount(amounts.net))
    _el(tax, "ram:CategoryCode", category)
    if amounts.reverse_charge:
        _el(tax, "ram:ExemptionReasonCode", "VATEX-EU-AE")
    _el(tax, "ram:RateApplicablePercent", rate)
    period = _el(settlement, "ram:BillingSpecifiedPeriod")  # Leistungszeitraum
    _date(period, "ram:StartDateTime", doc.period_start)
    _date(period, "ram:EndDateTime", doc.period_end)
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    if doc.collection_date:
        _date(terms, "ram:DueDateDateTime", doc.collection_date)
    _el(terms, "ram:DirectDebitMandateID", doc.mandate_reference)
    total = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(total, "ram:LineTotalAmount", _amount(amounts.net))
    _el(total, "ram:TaxBasisTotalAmount", _amount(amounts.net))
    _el(total, "ram:TaxTotalAmount", _amount(amounts.vat), currencyID="EUR")
    _el(total, "ram:GrandTotalAmount", _amount(amounts.gross))
    _el(total, "ram:DuePayableAmount", _amount(amounts.gross))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def render_facturx_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice PDF as PDF/A-3 with factur-x.xml embedded; the XML is checked against the XSD first."""
    xml = invoice_xml(doc)
    pdf: bytes = facturx.generate_from_binary(
        render_invoice_pdf(doc), xml, flavor="factur-x", level="en16931", check_xsd=True, lang="de-DE",
        pdf_metadata={"author": doc.seller.name, "keywords": "Factur-X, Rechnung",
                      "title": f"Rechnung {doc.number}", "subject": f"Rechnung {doc.number} von {doc.seller.name}"})
    return pdf
