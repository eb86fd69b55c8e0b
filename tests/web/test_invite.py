"""Einladung mit Einmalcode in the browser (design/crypto.md §8a item 10): the admin's browser issues the code
and keeps the invite secret; the employee redeems it on a new browser with their own password; the admin's
browser checks the invite proof while approving the new device and certifies the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interfaces.client import users
from interfaces.client.sdk import Client
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
    selin = next(u for u in users.list_users(cli) if u["user_short"] == "SelinÖ")
    assert selin["certified"] is False and selin["role"] == "staff"

    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Arbeitsplätze/Endgeräte").click()
    waiting = page.get_by_role("region", name="Freigabe von Empfang 2")
    waiting.wait_for(timeout=SLOW)
    waiting.get_by_label("Kopplungscode von „Empfang 2“").fill(pairing)
    waiting.get_by_role("button", name="Freigeben").click()
    page.get_by_text("„Empfang 2“ ist freigegeben.").wait_for(timeout=SLOW)

    employee.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    assert "Angemeldet als SelinÖ" in employee.page.locator("main").inner_text()
    selin = next(u for u in users.list_users(cli) if u["user_short"] == "SelinÖ")
    assert selin["certified"] is True
    for web in (admin, employee):
        assert web.csp_violations() == [] and web.foreign_requests == []


def _approve_in_browser(page: Any, name: str, pairing: str) -> str:
    """Types the pairing code on the Arbeitsplätze/Endgeräte page; returns the alert shown."""
    page.get_by_role("navigation", name="Hauptmenü").get_by_role(
        "link", name="Arbeitsplätze/Endgeräte").click()
    waiting = page.get_by_role("region", name=f"Freigabe von {name}")
    waiting.wait_for(timeout=SLOW)
    waiting.get_by_label(f"Kopplungscode von „{name}“").fill(pairing)
    waiting.get_by_role("button", name="Freigeben").click()
    alert = waiting.get_by_role("alert")
    alert.wait_for(timeout=SLOW)
    return str(alert.inner_text())


def test_browser_refuses_a_swapped_password_key_and_invites_of_other_devices(
        new_page: Callable[[], WebPage], new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    admin = approved_browser(new_page, cli)
    page = admin.page

    # Invited on another device (the SDK): this browser has no s_inv to check the proof with.
    code = users.invite(cli, "TomK", "staff")
    pairing = users.redeem_invite(new_client("tom"), "PWinkler", "TomK", code, STAFF_PASSWORD, "Tom Laptop")
    assert "an einem anderen Gerät ausgestellt" in _approve_in_browser(page, "Tom Laptop", pairing)

    # Invited here, but the server hands out another invite proof (as if it swapped the password key).
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Benutzer").click()
    form = page.get_by_role("form", name="Benutzer einladen")
    form.get_by_label("Kurzname des Benutzers *").fill("SelinÖ")
    form.get_by_role("button", name="Einladen").click()
    page.locator("#invite-code").wait_for(timeout=SLOW)
    code = page.locator("#invite-code").inner_text()
    pairing = users.redeem_invite(new_client("selin"), "PWinkler", "SelinÖ", code, STAFF_PASSWORD, "Empfang 2")

    def swap_proof(route: Any) -> None:
        response = route.fetch()
        listed = response.json()
        for user in listed["users"]:
            if user.get("invite_proof"):
                user["invite_proof"] = "00" * 32
        route.fulfill(response=response, json=listed)

    page.route("**/api/v1/users", swap_proof)
    assert "Sicherheitswarnung" in _approve_in_browser(page, "Empfang 2", pairing)
    page.unroute("**/api/v1/users")
    # Nothing was approved or certified.
    assert "wartet auf Freigabe" in page.locator("table.list").inner_text()
    assert not next(u for u in users.list_users(cli) if u["user_short"] == "SelinÖ")["certified"]
