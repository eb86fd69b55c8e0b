"""Einladung mit Einmalcode in the browser (design/crypto.md §8a item 10): the admin's browser issues the code
and keeps the invite secret; the employee redeems it on a new browser with their own password; the admin's
browser checks the invite proof while approving the new device and certifies the user."""

from __future__ import annotations

from collections.abc import Callable

from interfaces.client.sdk import Client
from interfaces.client.users import list_users
from tests.conftest import PASSWORD, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_register_login import SLOW

STAFF_PASSWORD = "Selin#Empfang2024"


def test_invited_employee_redeems_code_and_is_logged_in_after_approval(
        new_page: Callable[[], WebPage], new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    admin = approved_browser(new_page, cli)
    page = admin.page
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Benutzer").click()
    form = page.get_by_role("form", name="Benutzer einladen")
    form.wait_for()
    form.get_by_label("Kurzname des Benutzers *").fill("SelinÖ")
    form.get_by_label("Rolle *").select_option("staff")
    form.get_by_role("button", name="Einladen").click()
    shown = page.locator("#invite-code")
    shown.wait_for(timeout=SLOW)
    code = shown.inner_text()
    assert len(code) == 14 and code[4] == code[9] == "-"
    assert "72 Stunden" in form.inner_text() and "Telefon" in form.inner_text()
    assert admin.accessibility_problems() == []

    employee = new_page()  # the employee's own new browser
    employee.goto("/anmelden")
    employee.page.get_by_role("link", name="Einladung einlösen").click()
    employee.page.get_by_role("heading", name="Einladung einlösen").wait_for()
    assert employee.accessibility_problems() == []
    employee.page.get_by_label("Kurzname der Organisation *").fill("PWinkler")
    employee.page.get_by_label("Kurzname des Benutzers *").fill("SelinÖ")
    employee.page.get_by_label("Einladungscode *").fill(code.lower().replace("-", " "))  # read out by phone
    employee.page.get_by_label("Neues Passwort *", exact=True).fill(STAFF_PASSWORD)
    employee.page.get_by_label("Neues Passwort wiederholen *").fill(STAFF_PASSWORD + "x")
    employee.page.get_by_label("Kurzname des Endgerätes *").fill("Empfang 2")
    employee.page.get_by_role("button", name="Einladung einlösen").click()
    assert "Die Passwörter stimmen nicht überein." in employee.page.locator("#password-repeat-error").inner_text()
    employee.page.get_by_label("Neues Passwort wiederholen *").fill(STAFF_PASSWORD)
    employee.page.get_by_role("button", name="Einladung einlösen").click()
    employee.page.get_by_role("heading", name="Freischaltung dieses Geräts").wait_for(timeout=SLOW)
    pairing = employee.page.locator("#pairing-code").inner_text()
    assert employee.accessibility_problems() == []

    # Not certified yet: the organisation has not vouched for the chosen password key.
    selin = next(u for u in list_users(cli) if u["user_short"] == "SelinÖ")
    assert selin["certified"] is False and selin["role"] == "staff"

    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Arbeitsplätze/Endgeräte").click()
    waiting = page.get_by_role("region", name="Freigabe von Empfang 2")
    waiting.wait_for(timeout=SLOW)
    waiting.get_by_label("Kopplungscode von „Empfang 2“").fill(pairing)
    waiting.get_by_role("button", name="Freigeben").click()
    page.get_by_text("„Empfang 2“ ist freigegeben.").wait_for(timeout=SLOW)

    employee.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    assert "Angemeldet als SelinÖ" in employee.page.locator("main").inner_text()
    selin = next(u for u in list_users(cli) if u["user_short"] == "SelinÖ")
    assert selin["certified"] is True
    for web in (admin, employee):
        assert web.csp_violations() == [] and web.foreign_requests == []
