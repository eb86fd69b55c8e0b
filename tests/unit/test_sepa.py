"""The monthly pain.008 file: schema-valid, sums to the invoices, refuses bad bank data."""

from __future__ import annotations

import dataclasses
import datetime
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
import xmlschema

from domain.invoice import compute_invoice
from domain.plans import PLANS
from infrastructure.sepa import (
    Creditor,
    Debit,
    SepaFileError,
    amount_in_cents,
    build_direct_debit_file,
    check_creditor_id,
    german_transliteration,
)

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
# The schema file itself, loaded here directly so that the test does not trust the module's own validation.
XSD = xmlschema.XMLSchema(Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd")

CREDITOR = Creditor(
    name="Sprechzimmer GmbH",
    iban="DE89 3704 0044 0532 0130 00",
    bic="COBADEFFXXX",
    creditor_id="DE29ZZZ00001983485",  # example id from the seed
)
COLLECTION = datetime.date(2026, 6, 5)
CREATED = datetime.datetime(2026, 6, 1, 3, 0, 0)

# (organisation, IBAN, BIC, users, SMS) — test IBANs with valid check digits.
PRACTICES = [
    ("Praxis Dr. Müller", "DE02120300000000202051", "BYLADEM1001", 3, 42),
    ("Psychotherapie Öztürk & Weiß", "DE02500105170137075030", "INGDDEFFXXX", 1, 0),
    ("Beratungsstelle Nord", "DE02100500000054540402", "BELADEBEXXX", 12, 1234),
]


def _debits() -> list[Debit]:
    debits = []
    for n, (name, iban, bic, users, sms) in enumerate(PRACTICES, start=1):
        amounts = compute_invoice(users=users, sms=sms, plan=PLANS["plus"])
        debits.append(
            Debit(
                debtor_name=name,
                iban=iban,
                bic=bic,
                amount=amounts.gross,
                mandate_reference=f"SPZ-MANDAT-{n:04d}",
                mandate_signed_on=datetime.date(2025, 11, 1),
                description=f"Sprechzimmer Rechnung 2026-{n:06d} Mai 2026",
                end_to_end_id=f"2026-{n:06d}",
            )
        )
    return debits


def _invoice_totals() -> list[Decimal]:
    return [compute_invoice(users=u, sms=s, plan=PLANS["plus"]).gross for *_, u, s in PRACTICES]


def _build(debits: list[Debit] | None = None, **overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "creditor": CREDITOR,
        "debits": _debits() if debits is None else debits,
        "collection_date": COLLECTION,
        "message_id": "SPZ-2026-05",
        "created_at": CREATED,
    }
    kwargs.update(overrides)
    return build_direct_debit_file(**kwargs)  # type: ignore[arg-type]


def test_file_validates_against_the_pain_008_schema() -> None:
    xml = _build()
    assert xml.startswith(b"<?xml")
    XSD.validate(xml.decode())


def test_control_sum_and_count_equal_the_invoices() -> None:
    expected = sum(_invoice_totals())
    root = ET.fromstring(_build())
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", NS)
    assert header is not None
    assert Decimal(header.findtext("p:CtrlSum", namespaces=NS) or "") == expected
    assert int(header.findtext("p:NbOfTxs", namespaces=NS) or "") == len(PRACTICES)
    # And the individual transactions add up to the header, too (what the bank checks).
    amounts = [Decimal(a.text or "") for a in root.iterfind(".//p:DrctDbtTxInf/p:InstdAmt", NS)]
    assert sum(amounts) == expected
    assert sorted(amounts) == sorted(_invoice_totals())


def test_transactions_carry_mandate_and_reference() -> None:
    root = ET.fromstring(_build())
    tx = root.find(".//p:DrctDbtTxInf", NS)
    assert tx is not None
    assert tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS) == "2026-000001"
    assert tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS) == "SPZ-MANDAT-0001"
    assert tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", namespaces=NS) == "2025-11-01"
    assert tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE02120300000000202051"
    assert root.findtext(".//p:PmtInf/p:ReqdColltnDt", namespaces=NS) == "2026-06-05"
    assert root.findtext(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS) == "DE29ZZZ00001983485"
    assert root.findtext(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE89370400440532013000"


def test_same_input_gives_the_same_bytes_and_message_id_is_ours() -> None:
    # A repeated billing run must not produce a second, different file for the bank.
    first, second = _build(), _build()
    assert first == second
    assert ET.fromstring(first).findtext(".//p:GrpHdr/p:MsgId", namespaces=NS) == "SPZ-2026-05"
    assert _build(message_id="SPZ-2026-06") != first


def test_first_and_recurring_collections_go_into_separate_blocks() -> None:
    debits = _debits()
    debits[0] = dataclasses.replace(debits[0], sequence_type="FRST")
    xml = _build(debits)
    XSD.validate(xml.decode())
    blocks = ET.fromstring(xml).findall(".//p:PmtInf", NS)
    assert sorted(b.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) or "" for b in blocks) == ["FRST", "RCUR"]
    assert len({b.findtext("p:PmtInfId", namespaces=NS) for b in blocks}) == 2


def test_amount_in_integer_cents_is_accepted() -> None:
    debits = [dataclasses.replace(_debits()[0], amount=2261)]
    assert ET.fromstring(_build(debits)).findtext(".//p:CtrlSum", namespaces=NS) == "22.61"


def test_wrong_iban_is_refused() -> None:
    debits = _debits()
    debits[1] = dataclasses.replace(debits[1], iban="DE03500105170137075030")  # check digits off by one
    with pytest.raises(SepaFileError, match="IBAN"):
        _build(debits)


def test_wrong_creditor_iban_and_bics_are_refused() -> None:
    with pytest.raises(SepaFileError, match="IBAN"):
        _build(creditor=dataclasses.replace(CREDITOR, iban="DE89370400440532013001"))
    with pytest.raises(SepaFileError, match="BIC"):
        _build(creditor=dataclasses.replace(CREDITOR, bic="COBA"))
    debits = _debits()
    debits[0] = dataclasses.replace(debits[0], bic="BY1ADEM1001")
    with pytest.raises(SepaFileError, match="BIC"):
        _build(debits)


def test_creditor_id_check_digits() -> None:
    assert check_creditor_id("DE98ZZZ09999999999") == "DE98ZZZ09999999999"  # Bundesbank's sample id
    assert check_creditor_id("de29 zzz 00001983485") == "DE29ZZZ00001983485"
    for bad in ("DE28ZZZ00001983485", "DE29ZZZ00001983486", "DE29ZZZ", "29ZZZ00001983485"):
        with pytest.raises(SepaFileError):
            check_creditor_id(bad)
    with pytest.raises(SepaFileError, match="Gläubiger-ID"):
        _build(creditor=dataclasses.replace(CREDITOR, creditor_id="DE28ZZZ00001983485"))


@pytest.mark.parametrize(
    "amount", [Decimal("0.00"), Decimal("-1.00"), Decimal("1.005"), Decimal("NaN"), 0, -5, 1.5, True]
)
def test_invalid_amounts_are_refused(amount: object) -> None:
    with pytest.raises(SepaFileError):
        amount_in_cents(amount)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"mandate_reference": ""},
        {"mandate_reference": "X" * 36},
        {"mandate_reference": "MANDAT_1"},  # underscore is outside the SEPA character set
        {"end_to_end_id": "/2026-1"},
        {"description": "x" * 141},
        {"debtor_name": "  "},
        {"mandate_signed_on": COLLECTION + datetime.timedelta(days=1)},
        {"sequence_type": "ONCE"},
    ],
)
def test_invalid_debit_fields_are_refused(change: dict[str, object]) -> None:
    debits = _debits()
    debits[0] = dataclasses.replace(debits[0], **change)  # type: ignore[arg-type]
    with pytest.raises(SepaFileError):
        _build(debits)


def test_empty_run_and_duplicate_references_are_refused() -> None:
    with pytest.raises(SepaFileError):
        _build([])
    debits = _debits()
    debits[1] = dataclasses.replace(debits[1], end_to_end_id=debits[0].end_to_end_id)
    with pytest.raises(SepaFileError, match="eindeutig"):
        _build(debits)


def test_schema_check_is_not_a_formality() -> None:
    # Guard for the tests above: the schema does reject a file missing a mandatory element.
    xml = _build().replace(b"<ReqdColltnDt>2026-06-05</ReqdColltnDt>", b"")
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        XSD.validate(xml.decode())


def test_a_file_the_schema_rejects_is_never_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module checks its own output against pain.008: a file that lost a mandatory element (here by a
    broken writing step) is refused with the schema's finding instead of reaching the bank."""
    from infrastructure import sepa

    block = sepa._payment_information
    monkeypatch.setattr(sepa, "_payment_information", lambda *args: block(*args).replace(
        "<ReqdColltnDt>2026-06-05</ReqdColltnDt>", ""))
    with pytest.raises(SepaFileError, match=r"pain\.008\.001\.02.*ReqdColltnDt"):
        _build()


def _sepaxml_file(debits: list[Debit]) -> bytes:
    """The file as the module built it with sepaxml until 2026-12 (stored checksums of earlier months)."""
    sdd = sepaxml.SepaDD({"name": german_transliteration(CREDITOR.name), "IBAN": "DE89370400440532013000",
                          "BIC": CREDITOR.bic, "batch": True, "creditor_id": CREDITOR.creditor_id,
                          "currency": "EUR", "instrument": "CORE"}, schema="pain.008.001.02", clean=True)
    for d in debits:
        sdd.add_payment({"name": german_transliteration(d.debtor_name), "IBAN": d.iban, "BIC": d.bic,
                         "amount": amount_in_cents(d.amount), "type": d.sequence_type,
                         "collection_date": COLLECTION, "mandate_id": d.mandate_reference,
                         "mandate_date": d.mandate_signed_on, "description": german_transliteration(d.description),
                         "endtoend_id": d.end_to_end_id})
    root = ET.fromstring(sdd.export(validate=False))
    root.find("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", NS).text = "SPZ-2026-05"  # type: ignore[union-attr]
    root.find("p:CstmrDrctDbtInitn/p:GrpHdr/p:CreDtTm", NS).text = CREATED.isoformat()  # type: ignore[union-attr]
    for n, info in enumerate(root.iterfind("p:CstmrDrctDbtInitn/p:PmtInf", NS), start=1):
        info.find("p:PmtInfId", NS).text = f"SPZ-2026-05-{n}"  # type: ignore[union-attr]
    ET.register_namespace("", NS["p"])
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode()


def test_files_of_earlier_months_are_rebuilt_byte_for_byte() -> None:
    """A lost file is rebuilt only if it matches its stored checksum; those were taken of sepaxml's output."""
    names = ["Praxis Dr. Müller & Söhne", "Łódź <Zahnärzte>", "Café Ærø 'Nord' €", "ÄÖÜ äöü ß ẞ", "x" * 70,
             "Ørsted-Ñúñez — Praxis", "Dr. 李 Wang"]
    debits = [Debit(debtor_name=names[n % len(names)], iban=PRACTICES[n % 3][1], bic=PRACTICES[n % 3][2],
                    amount=Decimal(n + 1) / 4 if n % 2 else n * 97 + 1,
                    mandate_reference=f"SPZ-M/{n}+(x)?", mandate_signed_on=datetime.date(2025, 1 + n % 12, 1),
                    description=f"Rechnung 2026-{n:06d} für Größe & Maß " + "y" * (n % 90),
                    end_to_end_id=f"2026-{n:06d}", sequence_type=("RCUR", "FRST", "OOFF", "FNAL")[n % 7 % 4])
              for n in range(60)]
    assert _build(debits) == _sepaxml_file(debits)


def test_control_characters_in_a_name_do_not_stop_the_file() -> None:
    """An account holder entered with a line break or tab: printed with spaces, the month's file still valid."""
    debits = _debits()
    debits[0] = dataclasses.replace(debits[0], debtor_name="Praxis\nDr.\tMüller\x01")
    xml = _build(debits)
    XSD.validate(xml.decode())
    assert ET.fromstring(xml).findtext(".//p:Dbtr/p:Nm", namespaces=NS) == "Praxis Dr. Mueller "


def test_debtor_names_are_transliterated_the_german_way() -> None:
    """"Müller" is "Mueller" on the bank statement, not "Muller" (issue 15, item 6)."""
    names = [el.text for el in ET.fromstring(_build()).iter("{" + NS["p"] + "}Nm")]
    assert "Praxis Dr. Mueller" in names
    assert any(name and name.startswith("Psychotherapie Oeztuerk") and name.endswith("Weiss") for name in names)
    assert not any(name and "Muller" in name for name in names)
