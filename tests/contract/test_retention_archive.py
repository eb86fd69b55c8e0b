"""Retention duties (issue 15.2; § 147 AO, § 14b UStG): an erasure leaves the practice's invoices and SEPA mandate
evidence in the retention archive, sealed to the operator's retention key, and nothing else; the archive deletes
them when their period ends. SEPA files are sealed on disk, opened for the bank by the operator, and removed
after their collection date."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from application import billing, erasure
from infrastructure.settings import retention_seed
from interfaces.client.sdk import Client
from sprechzimmer_protocol.primitives import box_key, unseal
from tests.conftest import Clock, LiveServer, MailBox, server_env
from tests.contract.helpers import BANK, at, practice
from tests.contract.test_billing import XSD
from tests.contract.test_erasure import assert_erased, cancelled_practice

IBAN = "DE89370400440532013000"


def archive_job(server: LiveServer) -> int:
    job = next(job for job in server.container.scheduler.jobs if job.name == "retention-archive")
    assert job.every_seconds == 86400
    return job.run(server.container.services)


def test_erasure_leaves_only_the_sealed_archive_which_goes_after_the_period(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    _client, org_id = cancelled_practice(new_client, clock, server, plan="plus", billing=BANK)
    services = server.container.services
    at(clock, date(2021, 4, 1), hour=2)
    done = server.container.scheduler.run_all_once()
    assert done["billing"] == 1 and done["erasure"] == 1  # March is invoiced, then the practice erased
    assert_erased(server, org_id, mailbox)  # no trace of the practice in any table or file, the archive included

    archive = services.contracts.archive  # type: ignore[union-attr]
    entries = archive.entries()
    receipt = erasure.org_hash(services, org_id)
    assert sorted(kind for _, kind, _, _, _ in entries) == ["invoice", "mandate"]
    assert {r for _, _, r, _, _ in entries} == {receipt}  # linked to the erasure receipt, not to the practice
    assert {until for *_, until, _ in entries} == {date(2029, 12, 31)}  # 8 years after the end of 2021

    key = box_key(retention_seed(server.settings.secrets))
    opened = {kind: json.loads(unseal(key, sealed)) for _, kind, _, _, sealed in entries}
    invoice, mandate = opened["invoice"], opened["mandate"]
    assert invoice["month"] == "2021-03" and invoice["recipient"]["name"] == "Praxis Winkler"
    assert invoice["debit"]["iban"].replace(" ", "") == IBAN
    text = PdfReader(BytesIO(base64.b64decode(invoice["pdf"]))).pages[0].extract_text()
    assert invoice["number"] in text and "Rechnung" in text  # the invoice as it was issued
    assert mandate["holder"] == "Dr. med. Martin Winkler" and mandate["iban"].replace(" ", "") == IBAN
    assert mandate["mandate_reference"] == invoice["debit"]["mandate_reference"] and mandate["mandate_signed_on"]
    assert "Praxis Winkler" not in json.dumps(mandate)  # only what bookkeeping needs

    # Until then the March file (sealed) waits for its collection date; after it the job removes it.
    assert len(list((server.settings.data_dir / "billing").glob("*/sepa-*.xml"))) == 1
    at(clock, date(2029, 12, 31))
    assert archive_job(server) == 1 and len(archive.entries()) == 2  # the last day of the period; the file went
    assert list((server.settings.data_dir / "billing").glob("*/sepa-*.xml")) == []
    at(clock, date(2030, 1, 1))
    assert archive_job(server) == 2 and archive.entries() == []
    assert archive_job(server) == 0


def test_sepa_file_is_sealed_opened_for_the_bank_and_gone_after_the_collection_date(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    practice(new_client, clock, date(2026, 9, 20), plan="plus", billing=BANK)
    at(clock, date(2026, 10, 1), hour=2)
    path = billing.run(server.container.services, "2026-09").sepa_path
    assert path is not None
    stored = path.read_bytes()
    assert IBAN.encode() not in stored and b"Winkler" not in stored and b"<?xml" not in stored
    assert path.stat().st_mode & 0o777 == 0o600

    settings = server.container.settings
    for name, value in server_env(settings).items():
        monkeypatch.setenv(name, value)
    if not settings.database_url:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    from interfaces.cli.main import main

    for_bank = tmp_path / "an-die-bank.xml"
    assert main(["billing", "sepa-export", "--month", "2026-09", "--out", str(for_bank)]) == 0
    xml = for_bank.read_bytes()
    XSD.validate(xml)
    assert IBAN.encode() in xml and os.stat(for_bank).st_mode & 0o777 == 0o600

    at(clock, date(2026, 10, 15), hour=12)  # the collection date itself: the bank may still ask for it
    assert archive_job(server) == 0 and path.exists()
    at(clock, date(2026, 10, 16), hour=2)
    assert archive_job(server) == 1 and not path.exists()
    capsys.readouterr()
    assert main(["billing", "sepa-export", "--month", "2026-09"]) == 1
    assert "keine SEPA-Datei" in capsys.readouterr().err


def test_a_practice_that_was_never_billed_leaves_no_archive(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    _client, org_id = cancelled_practice(new_client, clock, server)  # basis: no invoice, no mandate
    at(clock, date(2021, 4, 1), hour=2)
    assert server.container.scheduler.run_all_once()["erasure"] == 1
    assert_erased(server, org_id, mailbox)
    assert server.container.services.contracts.archive.entries() == []  # type: ignore[union-attr]
