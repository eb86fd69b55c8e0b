"""Vertrag and Rechnungsdaten in the browser: the cancellation shows the server's end date before it is
confirmed and is mailed, its revocation, the plan switch both ways (each signed by this browser's device key),
and invoices downloaded as PDF after the operator's billing run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from application import billing
from interfaces.client import contract
from interfaces.client.sdk import Client
from tests.conftest import Clock, LiveServer, MailBox
from tests.contract.helpers import BANK, at, practice, relogin
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_register_login import SLOW

MENU = "Hauptmenü"


def open_page(browser: WebPage, name: str) -> None:
    browser.page.get_by_role("navigation", name=MENU).get_by_role("link", name=name).click()
    browser.page.get_by_role("heading", name=name, level=1).wait_for()


def test_cancel_shows_the_end_date_revoke_and_switch_plans_both_ways(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_page: Callable[[], WebPage],
        new_client: Callable[[str], Client]) -> None:
    cli, _ = practice(new_client, clock, date(2026, 11, 20))
    browser = approved_browser(new_page, cli)
    page = browser.page
    open_page(browser, "Vertrag")
    current = page.get_by_role("region", name="Mein aktueller Vertrag")
    current.wait_for()
    assert "Sprechzimmer basis" in current.inner_text() and "0,00 €" in current.inner_text()
    assert browser.accessibility_problems() == []

    # 3 months' notice to the end of a quarter, from the server's (Berlin) date: 20.11.2026 → 31.03.2027.
    current.get_by_role("button", name="Vertrag kündigen und Daten löschen").click()
    dialog = page.get_by_role("dialog", name="Vertrag kündigen und Daten löschen")
    assert "Ihr Vertrag endet zum 31.03.2027." in dialog.inner_text()
    assert browser.accessibility_problems() == []
    dialog.get_by_role("button", name="Kündigung bestätigen").click()
    dialog.get_by_role("alert").wait_for()
    assert "Bitte bestätigen Sie die Kündigung" in dialog.get_by_role("alert").inner_text()
    assert contract.show(cli)["ends_on"] is None  # nothing was cancelled without the confirmation
    dialog.get_by_label("Hiermit bestätige ich die Kündigung").check()
    dialog.get_by_role("button", name="Kündigung bestätigen").click()
    page.get_by_role("status").filter(has_text="Ihr Vertrag endet zum 31.03.2027").wait_for(timeout=SLOW)
    assert contract.show(cli)["ends_on"] == "2027-03-31"
    mail = mailbox.wait_for(1)[-1]
    assert mail["Subject"] == "Kündigungsbestätigung" and "31.03.2027" in mail.get_content()
    switch = page.get_by_role("region", name="Möglicher Vertragswechsel")
    assert "erst nach dem Widerruf der Kündigung" in switch.inner_text()

    page.get_by_role("button", name="Kündigung widerrufen").click()
    page.get_by_role("dialog", name="Kündigung widerrufen").get_by_role("button", name="Widerruf bestätigen").click()
    page.get_by_role("status").filter(has_text="Die Kündigung ist widerrufen").wait_for()
    assert contract.show(cli)["ends_on"] is None
    assert mailbox.wait_for(2)[-1]["Subject"] == "Widerruf Ihrer Kündigung"

    # Upgrade: the mandate with the operator's creditor id and this organisation's mandate reference.
    assert "19,00 €" in switch.inner_text() and "0,10 €" in switch.inner_text()
    org_id = cli.whoami()["org_id"]
    assert server.settings.creditor_id in switch.inner_text()
    assert "SPZ-" + org_id.replace("-", "")[:20].upper() in switch.inner_text()
    switch.get_by_label("Kontoinhaber *").fill(BANK["account_holder"])
    switch.get_by_label("IBAN *").fill("DE89 3704 0044 0532 0130 01")
    switch.get_by_label("BIC *").fill(BANK["bic"])
    switch.get_by_role("button", name="Zu plus wechseln").click()
    assert "Die IBAN ist ungültig" in switch.locator("#iban-error").inner_text()
    assert "SEPA-Lastschriftmandat erteilen" in switch.locator("#sepa_mandate-error").inner_text()
    switch.get_by_label("IBAN *").fill(BANK["iban"])
    switch.get_by_label("Ich erteile das SEPA-Lastschriftmandat", exact=False).check()
    switch.get_by_role("button", name="Zu plus wechseln").click()
    page.get_by_role("status").filter(has_text="Ab heute gilt der Tarif plus.").wait_for()
    assert contract.show(cli)["plan"] == "plus"
    assert mailbox.wait_for(3)[-1]["Subject"] == "Vertragswechsel zum Tarif plus"
    assert "Sprechzimmer plus" in current.inner_text()

    # Downgrade: takes effect at the end of the month.
    switch.get_by_role("button", name="Zu basis wechseln").click()
    assert "zum Monatsende" in switch.get_by_role("alertdialog").inner_text()
    switch.get_by_role("button", name="Wechsel bestätigen").click()
    page.get_by_role("status").filter(has_text="ab dem 01.12.2026 gilt der Tarif basis").wait_for()
    shown = contract.show(cli)
    assert shown["plan"] == "plus" and shown["next_plan"] == "basis" and shown["next_plan_from"] == "2026-12-01"
    assert "Ab dem 01.12.2026 gilt der Tarif Sprechzimmer basis" in switch.inner_text()
    assert browser.accessibility_problems() == []
    assert browser.csp_violations() == [] and browser.foreign_requests == []


def test_invoices_download_as_pdf(server: LiveServer, clock: Clock, new_page: Callable[[], WebPage],
                                  new_client: Callable[[str], Client]) -> None:
    cli, _ = practice(new_client, clock, date(2026, 11, 2), plan="plus", billing=BANK)
    at(clock, date(2026, 12, 2))
    result = billing.run(server.container.services, "2026-11")  # what the operator's `billing run` does
    assert len(result.invoices) == 1
    relogin(cli)  # the session of 2 November has expired
    invoice = contract.invoices(cli)[0]
    number, gross = invoice["number"], invoice["gross"].replace(".", ",") + " €"
    browser = approved_browser(new_page, cli)
    page = browser.page
    open_page(browser, "Rechnungsdaten")
    bank = page.get_by_role("region", name="Bankverbindung und SEPA-Lastschriftmandat")
    bank.wait_for()
    assert "DE89 **** **** 3000" in bank.inner_text() and "SPZ-" in bank.inner_text()
    row = page.get_by_role("row").filter(has_text=number)
    row.wait_for()
    assert "11/2026" in row.inner_text() and gross in row.inner_text()
    assert browser.accessibility_problems() == []
    with page.expect_download() as info:
        row.get_by_role("button", name="PDF herunterladen").click()
    download = info.value
    assert download.suggested_filename == f"Rechnung-{number}.pdf"
    path = download.path()
    assert path is not None
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert browser.csp_violations() == [] and browser.foreign_requests == []
