"""Vertragswechsel, Kündigung and Kündigung widerrufen through the API with the SDK, mails through a real SMTP
server, time moved with the injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

import pytest

from application.erasure import org_hash
from application.errors import NotPermitted
from application.plans import current_plan, require_feature
from domain.contract import Contract
from domain.erasure import ErasureReceipt
from domain.plans import Feature
from interfaces.client import contract
from interfaces.client.sdk import ApiError, Client
from tests.conftest import Clock, LiveServer, MailBox
from tests.contract.helpers import BANK, at, practice, relogin


def test_upgrade_needs_valid_bank_data_and_records_the_mandate(server: LiveServer, clock: Clock, mailbox: MailBox,
                                                               new_client: Callable[[str], Client]) -> None:
    client, result = practice(new_client, clock, date(2026, 3, 10))
    assert contract.show(client)["plan"] == "basis" and contract.show(client)["bank"] is None

    with pytest.raises(ApiError) as err:
        contract.upgrade(client, "Dr. Winkler", "DE89 3704 0044 0532 0130 01", "COBADEFFXXX", True)
    assert err.value.status == 400 and "iban" in err.value.errors
    with pytest.raises(ApiError) as err:
        contract.upgrade(client, "Dr. Winkler", BANK["iban"], BANK["bic"], False)
    assert err.value.status == 400
    assert err.value.errors["sepa_mandate"] == ["Bitte das SEPA-Lastschriftmandat erteilen."]
    assert contract.show(client)["plan"] == "basis"  # nothing half-written

    view = contract.upgrade(client, **BANK)
    assert view["plan"] == "plus"
    assert view["bank"]["iban"] == "DE89 **** **** 3000"  # never shown back in full
    assert view["bank"]["mandate_reference"] == "SPZ-" + UUID(result["org_id"]).hex[:20].upper()
    assert view["bank"]["mandate_signed_on"] == "2026-03-10"
    assert view["creditor_id"] == server.container.settings.creditor_id
    assert client.whoami()["plan"] == "plus"
    with pytest.raises(ApiError) as err:
        contract.upgrade(client, **BANK)
    assert err.value.status == 409

    mail = mailbox.wait_for(1)[-1]
    assert mail["To"] == "m.winkler@mail.de" and mail["Subject"] == "Vertragswechsel zum Tarif plus"
    assert view["bank"]["mandate_reference"] in mail.get_content()


def test_downgrade_applies_at_month_end_then_plus_features_are_refused(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    client, result = practice(new_client, clock, date(2026, 4, 2), plan="plus", billing=BANK)
    services = server.container.services
    org_id = UUID(result["org_id"])

    at(clock, date(2026, 4, 20))
    relogin(client)
    view = contract.downgrade(client)
    assert view["plan"] == "plus" and view["next_plan"] == "basis" and view["next_plan_from"] == "2026-05-01"
    assert "ab dem 01.05.2026 gilt der Tarif basis" in mailbox.wait_for(1)[-1].get_content()
    with pytest.raises(ApiError) as err:
        contract.downgrade(client)
    assert err.value.status == 409

    at(clock, date(2026, 4, 30), hour=21)  # 23:00 in Berlin: the paid month is usable to its last day
    require_feature(services, org_id, Feature.SCREEN_SHARING)
    assert current_plan(services, org_id) == "plus"

    at(clock, date(2026, 5, 1), hour=0)
    assert current_plan(services, org_id) == "basis"
    with pytest.raises(NotPermitted) as refused:
        require_feature(services, org_id, Feature.SCREEN_SHARING)
    assert refused.value.message == "Die Bildschirmfreigabe ist nur im Tarif plus enthalten."

    # The bank data is still needed for April's debit; once April is invoiced it leaves the current state.
    at(clock, date(2026, 5, 1), hour=6)
    done = server.container.scheduler.run_all_once()
    assert done["billing"] == 1 and done["bank-data"] == 1
    relogin(client)
    view = contract.show(client)
    assert view["plan"] == "basis" and view["bank"] is None and view["next_plan"] is None
    assert services.events.get(Contract.id_for(org_id)).bank is None
    invoice = contract.invoices(client)[0]
    assert invoice["month"] == "2026-04" and invoice["mandate_reference"].startswith("SPZ-")


def test_cancellation_needs_confirmation_ends_at_quarter_end_and_is_mailed(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    client, _ = practice(new_client, clock, date(2020, 12, 28))
    with pytest.raises(ApiError) as err:
        contract.cancel(client, False)
    assert err.value.status == 400 and "confirm" in err.value.errors
    assert contract.show(client)["ends_on"] is None

    view = contract.cancel(client, True)
    assert view["cancelled_on"] == "2020-12-28" and view["ends_on"] == "2021-03-31"  # SPEC §5 example
    assert view["erasure_on"] == "2021-04-01" and view["revocable"] is True
    mail = mailbox.wait_for(1)[-1]
    assert mail["Subject"] == "Kündigungsbestätigung"
    assert "Ihr Vertrag endet zum 31.03.2021" in mail.get_content()
    with pytest.raises(ApiError) as err:
        contract.cancel(client, True)
    assert err.value.status == 409

    with pytest.raises(ApiError) as err:  # no plan changes while cancelled
        contract.upgrade(client, **BANK)
    assert err.value.status == 409

    at(clock, date(2021, 3, 31), hour=21)  # 23:00 in Berlin on the last day: everything still works, nothing is erased
    assert server.container.scheduler.run_all_once()["erasure"] == 0
    relogin(client)
    assert contract.show(client)["plan"] == "basis"


def test_revocation_until_the_end_date_never_after(server: LiveServer, clock: Clock, mailbox: MailBox,
                                                  new_client: Callable[[str], Client]) -> None:
    client, _ = practice(new_client, clock, date(2021, 1, 15))
    with pytest.raises(ApiError) as err:
        contract.revoke(client)
    assert err.value.status == 409  # nothing to revoke

    contract.cancel(client, True)  # ends 2021-06-30
    at(clock, date(2021, 6, 30), hour=20)
    relogin(client)
    view = contract.revoke(client)  # on the end date itself: still possible
    assert view["ends_on"] is None and view["cancelled_on"] is None and view["revocable"] is False
    mail = mailbox.wait_for(2)[-1]
    assert mail["Subject"] == "Widerruf Ihrer Kündigung"

    contract.cancel(client, True)  # the period starts anew: 2021-06-30 → 2021-09-30
    assert contract.show(client)["ends_on"] == "2021-09-30"
    at(clock, date(2021, 10, 1), hour=0)
    relogin(client)
    with pytest.raises(ApiError) as err:
        contract.revoke(client)
    assert err.value.status == 409 and "nicht mehr widerrufen" in err.value.detail


def test_a_revoked_cancellation_leaves_the_organisation_untouched_on_the_old_end_date(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    client, result = practice(new_client, clock, date(2020, 12, 28))
    contract.cancel(client, True)
    contract.revoke(client)
    services = server.container.services
    org_id = UUID(result["org_id"])
    stored = services.contracts.purger.count_events(org_id)

    at(clock, date(2021, 4, 1), hour=3)
    assert server.container.scheduler.run_all_once()["erasure"] == 0
    assert services.keystore.exists(org_id)
    assert services.contracts.purger.count_events(org_id) == stored  # none deleted, none added
    assert services.events.get(ErasureReceipt.id_for(org_hash(services, org_id))) is None
    relogin(client)
    assert client.whoami()["org_short"] == "PWinkler"
    assert contract.show(client)["ends_on"] is None


def test_cli_contract_commands(server: LiveServer, clock: Clock, mailbox: MailBox,
                               new_client: Callable[[str], Client], capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    from interfaces.cli import contracts as cli
    from interfaces.cli.main import main

    client, _ = practice(new_client, clock, date(2020, 12, 28))
    monkeypatch.setattr(cli, "client", lambda: client)
    assert main(["contract", "show"]) == 0
    assert "Tarif:               basis" in capsys.readouterr().out
    assert main(["contract", "upgrade", "--account-holder", BANK["account_holder"], "--iban", BANK["iban"],
                 "--bic", BANK["bic"], "--sepa-mandate"]) == 0
    assert "Mandatsreferenz:     SPZ-" in capsys.readouterr().out
    assert main(["contract", "downgrade"]) == 0
    assert "Ab 01.01.2021:       Tarif basis" in capsys.readouterr().out
    assert main(["contract", "cancel"]) == 1  # no confirmation, nothing happens
    assert contract.show(client)["ends_on"] is None
    assert main(["contract", "cancel", "--confirm"]) == 0
    assert "Vertrag endet zum:   31.03.2021" in capsys.readouterr().out
    assert main(["contract", "revoke"]) == 0
    assert "Die Kündigung ist widerrufen." in capsys.readouterr().out
    assert main(["contract", "revoke"]) == 1  # nothing left to revoke: the API's 409, printed in German
    assert "keine Kündigung" in capsys.readouterr().err


def test_openapi_documents_the_contract_endpoints(server: LiveServer) -> None:
    import httpx

    document = httpx.get(server.url + "/api/openapi.json").json()
    documented = set(document["paths"])
    assert {"/api/v1/contract", "/api/v1/contract/upgrade", "/api/v1/contract/downgrade",
            "/api/v1/contract/cancellation", "/api/v1/invoices", "/api/v1/invoices/{number}/pdf"} <= documented
    assert set(document["paths"]["/api/v1/contract/cancellation"]) == {"post", "delete"}


def test_only_administrators_change_the_contract_or_see_invoices(server: LiveServer, clock: Clock,
                                                                 new_client: Callable[[str], Client]) -> None:
    from interfaces.client import users

    client, _ = practice(new_client, clock, date(2026, 11, 2), plan="plus", billing=BANK)
    users.add_user(client, "Empfang", "staff", "Empfang#Praxis2024")
    client.login("PWinkler", "Empfang", "Empfang#Praxis2024")
    for refused in (lambda: contract.cancel(client, confirm=True), lambda: contract.downgrade(client),
                    lambda: contract.invoices(client)):
        with pytest.raises(ApiError) as err:
            refused()
        assert err.value.status == 403 and err.value.detail.startswith("Nur Administratoren")
    relogin(client)
    assert contract.show(client)["plan"] == "plus"  # nothing changed
