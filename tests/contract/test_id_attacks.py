"""Billing and registration cannot be blocked from outside (issue 10.12, design/crypto.md §8a.12).

The attacks of the issue, replayed: ids that the server derives were computable (UUIDv5 under the public URL
namespace), so a registration could take the id of the year's invoice sequence, an appointment the id of the
month's billing run, and a registration the claim id of someone else's short name. Now client ids are UUIDv4
only and derived ids are keyed with a server secret; a billing job that cannot finish says so loudly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from types import SimpleNamespace
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest

from application import billing
from domain.appointment import Appointment
from domain.billing import BillingRun, Invoice, InvoiceSequence
from domain.organisation import OrganisationShortName
from interfaces.client import appointments as ap
from interfaces.client import sdk
from interfaces.client.sdk import ApiError, Client
from tests.conftest import Clock, LiveServer, operator_status, register
from tests.contract.helpers import BANK, at, practice

MSG_V4 = "Bitte eine zufällige UUID (Version 4) angeben."


def public_id(kind: str, name: str) -> UUID:
    """How the server derived its ids before v1.1 — anybody could compute them."""
    return uuid5(NAMESPACE_URL, f"/{kind}/{name}")


def register_with_org_id(client: Client, org_id: UUID, monkeypatch: pytest.MonkeyPatch, **changes: object) -> None:
    """The attacker's client picks the organisation id (and signs everything for it, as a real client does)."""
    with monkeypatch.context() as patched:
        patched.setattr(sdk, "uuid", SimpleNamespace(uuid4=lambda: org_id))
        register(client, **changes)


def test_registration_cannot_take_the_invoice_sequence_or_a_short_name(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client],
        monkeypatch: pytest.MonkeyPatch) -> None:
    at(clock, date(2026, 10, 5))
    attacker = new_client("attacker")
    targets = [public_id("invoice-sequences", "2026"), InvoiceSequence.id_for(2026),
               public_id("organisation-short-names", "pwinkler"), OrganisationShortName.id_for("PWinkler")]
    for number, target in enumerate(targets):
        with pytest.raises(ApiError) as refused:
            register_with_org_id(attacker, target, monkeypatch, credentials__org_short=f"Angreifer{number}")
        assert refused.value.status == 400 and refused.value.errors == {"crypto.org_id": [MSG_V4]}

    # The short name was never registered, so it is free; billing of the year's first month works.
    _, result = practice(new_client, clock, date(2026, 10, 5), plan="plus", billing=BANK)  # the name is free
    at(clock, date(2026, 11, 1), hour=3)
    services = server.container.services
    assert billing.monthly_job(services) == 1
    assert services.events.get(Invoice.id_for(UUID(result["org_id"]), "2026-10"), Invoice).number == "2026-000001"


def test_an_appointment_cannot_take_the_billing_run(server: LiveServer, clock: Clock,
                                                    new_client: Callable[[str], Client],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = practice(new_client, clock, date(2026, 10, 5), plan="plus", billing=BANK)
    for target in (public_id("billing-runs", "2026-10"), BillingRun.id_for("2026-10")):
        with monkeypatch.context() as patched, pytest.raises(ApiError) as refused:
            patched.setattr(ap, "uuid", SimpleNamespace(uuid4=lambda target=target: target))
            ap.add(client, datetime(2026, 10, 20, 9, tzinfo=UTC), 30, "Jörg Böhm")
        assert refused.value.status == 400 and refused.value.errors == {"appointment_id": [MSG_V4]}
    ap.add(client, datetime(2026, 10, 20, 9, tzinfo=UTC), 30, "Jörg Böhm")  # a random id: fine

    at(clock, date(2026, 11, 1), hour=3)
    assert server.container.scheduler.run_all_once()["billing"] == 1
    assert operator_status(server)["billing"] == {"month": "2026-10", "state": "ok"}


def test_a_billing_run_that_cannot_finish_is_reported_loudly(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    """Should the month's billing-run id ever be taken by something else (say, data from before v1.1), the job
    does not silently do nothing: it logs the failure, the status page shows the month as overdue and
    `billing run` exits non-zero."""
    _, result = practice(new_client, clock, date(2026, 10, 5), plan="plus", billing=BANK)
    services = server.container.services
    org_id = UUID(result["org_id"])
    squatter = Appointment.schedule(BillingRun.id_for("2026-10"), org_id, datetime(2026, 10, 20, 9, tzinfo=UTC),
                                    30, {"kver": 1, "wrapped_dek": "00", "ciphertext": "00", "schema": 1},
                                    {"practitioner": "aa" * 32, "patient": "bb" * 32})
    services.save(squatter)  # planted past every check, as old data would be

    at(clock, date(2026, 11, 1), hour=0)  # 01:00 in Berlin: the job has just begun to try
    assert operator_status(server)["billing"] == {"month": "2026-10", "state": "pending"}
    with caplog.at_level(logging.ERROR, logger="sprechzimmer"):
        assert server.container.scheduler.run_all_once()["billing"] == 0
    assert "billing of 2026-10 FAILED" in caplog.text
    at(clock, date(2026, 11, 1), hour=4)
    assert operator_status(server)["billing"] == {"month": "2026-10", "state": "overdue"}

    from tests.contract.test_erasure import server_env

    settings = server.container.settings
    for key, value in server_env(settings).items():
        monkeypatch.setenv(key, value)
    if not settings.database_url:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    from interfaces.cli.main import main

    assert main(["billing", "run", "--month", "2026-10"]) == 2
    assert "Die Abrechnung für 2026-10 ist fehlgeschlagen" in capsys.readouterr().err
