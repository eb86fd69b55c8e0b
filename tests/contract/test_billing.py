"""Monthly billing for plus: invoices with gap-free numbers, PDF and data through the API, one SEPA file that
validates against pain.008 and sums to the invoices; a second run changes nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sepaxml
import xmlschema
from pypdf import PdfReader

from application import billing
from application.errors import Invalid
from domain.billing import Invoice
from domain.usage import SMS, UsageRecord
from interfaces.client import contract
from interfaces.client.sdk import ApiError, Client
from tests.conftest import Clock, LiveServer
from tests.contract.helpers import BANK, at, practice, sepa_xml

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
XSD = xmlschema.XMLSchema(Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd")


def _three_practices(new_client: Callable[[str], Client], clock: Clock) -> dict[str, tuple[Client, UUID]]:
    made = {}
    for name, plan in (("PWinkler", "plus"), ("PraxisNord", "plus"), ("PraxisSued", "basis")):
        changes = {"plan": "plus", "billing": BANK} if plan == "plus" else {}
        client, result = practice(new_client, clock, date(2026, 9, 20), name=name, **changes)
        made[name] = (client, UUID(result["org_id"]))
    return made


def test_monthly_run_invoices_plus_practices_and_writes_one_valid_sepa_file(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client], tmp_path: Path) -> None:
    practices = _three_practices(new_client, clock)
    services = server.container.services
    winkler, nord = practices["PWinkler"][1], practices["PraxisNord"][1]
    services.save(*[UsageRecord.record(winkler, SMS, "2026-10") for _ in range(3)])
    services.save(UsageRecord.record(nord, SMS, "2026-09"))  # another month: not on October's invoice
    assert billing.sms_count(services, winkler, "2026-10") == 3

    at(clock, date(2026, 10, 31), hour=22)  # 23:00 in Berlin, still October
    with pytest.raises(Invalid):  # a month is billed only after it ended
        billing.run(services, "2026-10")

    at(clock, date(2026, 11, 1), hour=2)
    result = billing.run(services, "2026-10")
    assert result.invoices == ["2026-000001", "2026-000002"] and not result.already_done
    by_org = {org: services.events.get(Invoice.id_for(org, "2026-10")) for org in (winkler, nord)}
    assert by_org[winkler].amounts["gross"] == "22.97"  # (19,00 + 3 × 0,10) × 1,19 = 22,967 → 22,97
    assert by_org[nord].amounts["gross"] == "22.61"  # 19,00 × 1,19
    assert result.total_gross == Decimal("45.58")
    assert services.events.get(Invoice.id_for(practices["PraxisSued"][1], "2026-10")) is None  # basis pays nothing

    path = result.sepa_path
    assert path is not None and path.parent == server.container.settings.data_dir / "billing" / "2026-10"
    xml = sepa_xml(server.settings, path)
    XSD.validate(xml)  # against the schema file itself, independent of the module's own check
    root = ET.fromstring(xml)
    amounts = [Decimal(e.text or "") for e in root.iterfind(".//p:DrctDbtTxInf/p:InstdAmt", NS)]
    assert sorted(amounts) == sorted(Decimal(inv.amounts["gross"]) for inv in by_org.values())
    assert Decimal(root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) or "") == Decimal("45.58")
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", namespaces=NS) == "SPZ-2026-10"
    assert {e.text for e in root.iterfind(".//p:EndToEndId", NS)} == {"2026-000001", "2026-000002"}

    # The second run changes nothing: no event, same file, same numbers.
    position, before = services.events.position(), path.stat().st_mtime_ns
    again = billing.run(services, "2026-10")
    assert again.already_done and again.invoices == result.invoices and again.sepa_path == path
    assert services.events.position() == position and path.stat().st_mtime_ns == before
    path.unlink()  # a lost file is rebuilt byte for byte
    billing.run(services, "2026-10")
    assert sepa_xml(server.settings, path) == xml

    # November: the numbers continue without a gap.
    at(clock, date(2026, 12, 1), hour=2)
    assert server.container.scheduler.run_all_once()["billing"] == 2
    numbers = sorted(services.events.get(Invoice.id_for(org, m)).number
                     for org in (winkler, nord) for m in ("2026-10", "2026-11"))
    assert numbers == ["2026-000001", "2026-000002", "2026-000003", "2026-000004"]

    # The admin sees the invoices as data and as PDF.
    client = practices["PWinkler"][0]
    client.login("PWinkler", "MartinW", "Winkler#Praxis2024")
    listed = contract.invoices(client)
    assert [inv["month"] for inv in listed] == ["2026-10", "2026-11"]
    assert listed[0]["gross"] == "22.97" and listed[0]["sms"] == 3 and listed[0]["users"] == 1
    pdf = contract.invoice_pdf(client, listed[0]["number"])
    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert "Rechnung" in text and listed[0]["number"] in text and "22,97 EUR" in text and "Praxis Winkler" in text
    with pytest.raises(ApiError) as err:
        contract.invoice_pdf(client, by_org[nord].number)  # another practice's invoice
    assert err.value.status == 404


def test_interrupted_run_issues_the_rest_without_gaps(server: LiveServer, clock: Clock,
                                                     new_client: Callable[[str], Client],
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    practices = _three_practices(new_client, clock)
    services = server.container.services
    at(clock, date(2026, 10, 1), hour=2)
    # A run that crashed after its first invoice: that invoice exists, the month is not recorded as done.
    first = billing._issue_invoice(services, practices["PraxisNord"][1], "2026-09", date(2026, 10, 1))
    assert first is not None and first.number == "2026-000001"

    result = billing.run(services, "2026-09")
    assert result.invoices == ["2026-000001", "2026-000002"]
    assert services.events.get(Invoice.id_for(practices["PWinkler"][1], "2026-09")).number == "2026-000002"

    from tests.conftest import server_env

    settings = server.container.settings
    for key, value in server_env(settings).items():
        monkeypatch.setenv(key, value)
    if not settings.database_url:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    from interfaces.cli.main import main

    assert main(["billing", "run", "--month", "2026-09"]) == 0
    out = capsys.readouterr().out
    assert "bereits abgerechnet, unverändert" in out and str(result.sepa_path) in out
    assert main(["billing", "run", "--month", "2026-13"]) == 1


def test_practice_abroad_is_invoiced_without_german_vat_as_factur_x(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client]) -> None:
    """Postcode 99999 (outside Germany): reverse charge, no VAT, the note on the invoice; the download is a
    Factur-X PDF whose XML validates (issue 15, item 6)."""
    import facturx

    from domain.invoice import REVERSE_CHARGE_NOTE

    abroad = {"street": "Rue de la Paix", "number": "1", "addition": None, "postcode": "99999", "city": "Paris"}
    bank = {**BANK, "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "AGRIFRPP"}
    client, result = practice(new_client, clock, date(2026, 9, 20), plan="plus", billing=bank, address=abroad,
                              organisation__vat_id="fr 40 303 265 045")  # as typed: stored compact, upper case
    at(clock, date(2026, 10, 1), hour=2)
    billing.run(server.container.services, "2026-09")
    invoice = server.container.services.events.get(Invoice.id_for(UUID(result["org_id"]), "2026-09"))
    assert invoice.amounts["vat"] == "0.00" and invoice.amounts["gross"] == invoice.amounts["net"] == "19.00"

    client.login("PWinkler", "MartinW", "Winkler#Praxis2024")
    pdf = contract.invoice_pdf(client, invoice.number)
    text = " ".join(PdfReader(BytesIO(pdf)).pages[0].extract_text().split())
    assert REVERSE_CHARGE_NOTE in text and "19,00 EUR" in text
    assert "Ihre USt-IdNr.: FR40303265045" in text  # § 14a Abs. 1 UStG: reverse charge names the recipient's
    _, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert b"<ram:CategoryCode>AE</ram:CategoryCode>" in xml and b"<ram:CountryID>FR</ram:CountryID>" in xml
    assert b'<ram:ID schemeID="VA">FR40303265045</ram:ID>' in xml  # BT-48 of the buyer


def test_each_invoice_is_mailed_as_pre_notification_before_the_debit_date(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client], mailbox: Any) -> None:
    """Issue 15, item 4: the invoice (PDF attached) reaches the practice at least 14 days before the debit,
    and the SEPA file's collection date follows from that; a second run mails nothing again."""
    from datetime import timedelta

    from domain.billing import BillingRun

    _client, result = practice(new_client, clock, date(2026, 9, 20), plan="plus", billing=BANK)
    before = len(mailbox.messages)
    at(clock, date(2026, 10, 1), hour=2)
    services = server.container.services
    run = billing.run(services, "2026-09")
    invoice = services.events.get(Invoice.id_for(UUID(result["org_id"]), "2026-09"))
    collection = date.fromisoformat(services.events.get(BillingRun.id_for("2026-09")).collection_date)
    assert collection - date.fromisoformat(invoice.issued_on) >= timedelta(days=14)
    assert collection == date(2026, 10, 15)
    root = ET.fromstring(sepa_xml(server.settings, run.sepa_path))
    assert root.findtext(".//p:ReqdColltnDt", namespaces=NS) == "2026-10-15"

    mails = mailbox.wait_for(before + 1)[before:]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["To"] == "m.winkler@mail.de"  # the main user of the registration
    assert "Vorabankündigung" in mail["Subject"] and invoice.number in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "15.10.2026" in text and "22,61 EUR" in text and invoice.debit["mandate_reference"] in text
    assert "0532 0130 00" not in text  # the IBAN is masked
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"Rechnung-{invoice.number}.pdf"]
    pdf = attachments[0].get_content()
    assert "15.10.2026" in PdfReader(BytesIO(pdf)).pages[0].extract_text()

    billing.run(services, "2026-09")  # done already: nothing mailed twice
    billing.prenotify(services, [invoice], collection)  # even asked again, the outbox key holds
    assert len(mailbox.wait_for(before + 2, timeout=1.0)) == before + 1


def _plus_practices(new_client: Callable[[str], Client], clock: Clock, n: int) -> list[UUID]:
    made = []
    for i in range(n):
        _client, result = practice(new_client, clock, date(2026, 9, 20), name=f"PPlus{i}", plan="plus",
                                   billing=BANK)
        made.append(UUID(result["org_id"]))
    return made


def test_a_crash_between_batches_keeps_the_saved_batches_and_the_rerun_numbers_on_without_gap(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Invoices are saved a batch at a time with their block of numbers: a run that dies while saving the
    second batch leaves the first batch complete and nothing of the second; the rerun issues the rest with
    the next numbers — none twice, none skipped."""
    orgs = sorted(_plus_practices(new_client, clock, 3))  # the run bills in the order of the org ids
    services = server.container.services
    at(clock, date(2026, 10, 1), hour=2)
    monkeypatch.setattr(billing, "BATCH", 2)
    save = services.events.save
    batches = []

    def dies_on_the_second_batch(*aggregates: Any, **kw: Any) -> Any:
        if any(isinstance(a, Invoice) for a in aggregates):
            batches.append(len(aggregates))
            if len(batches) == 2:
                raise OSError("Datenträger voll")  # the process dies here: the transaction never commits
        return save(*aggregates, **kw)

    monkeypatch.setattr(services.events, "save", dies_on_the_second_batch)
    with pytest.raises(OSError):
        billing.run(services, "2026-09")
    assert batches == [3, 2]  # the sequence and two invoices, then the sequence and the third
    numbers = {org: getattr(services.events.get(Invoice.id_for(org, "2026-09")), "number", None) for org in orgs}
    assert numbers == {orgs[0]: "2026-000001", orgs[1]: "2026-000002", orgs[2]: None}

    monkeypatch.setattr(services.events, "save", save)
    result = billing.run(services, "2026-09")
    assert result.invoices == ["2026-000001", "2026-000002", "2026-000003"] and not result.already_done
    assert services.events.get(Invoice.id_for(orgs[2], "2026-09")).number == "2026-000003"
    assert len(ET.fromstring(sepa_xml(server.settings, result.sepa_path)).findall(".//p:DrctDbtTxInf", NS)) == 3


def test_numbers_another_run_took_meanwhile_are_skipped_over_not_taken_twice(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The run keeps the year's sequence in memory between its batches; when another writer takes numbers in
    between (a second run on another worker), the save of the next batch conflicts, the run reloads the
    sequence and continues after the other's numbers."""
    from domain.billing import InvoiceSequence

    orgs = sorted(_plus_practices(new_client, clock, 2))
    services = server.container.services
    at(clock, date(2026, 10, 1), hour=2)
    monkeypatch.setattr(billing, "BATCH", 1)
    save = services.events.save
    foreign = UUID("00000000-0000-4000-8000-000000000001")

    def another_run_in_between(*aggregates: Any, **kw: Any) -> Any:
        saved = save(*aggregates, **kw)
        if any(isinstance(a, Invoice) and a.org_id == orgs[0] for a in aggregates):
            other = services.events.get(InvoiceSequence.id_for(2026), InvoiceSequence)
            assert other.issue([foreign]) == ["2026-000002"]
            save(other)
        return saved

    monkeypatch.setattr(services.events, "save", another_run_in_between)
    result = billing.run(services, "2026-09")
    assert result.invoices == ["2026-000001", "2026-000003"]
    assert services.events.get(Invoice.id_for(orgs[1], "2026-09")).number == "2026-000003"
