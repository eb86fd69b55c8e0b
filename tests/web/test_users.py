"""Benutzer in the browser: an admin adds a user in person (the employee types the password); the user's
certificate is signed in the browser and the SDK accepts it at that user's login."""

from __future__ import annotations

from collections.abc import Callable

from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_register_login import SLOW

STAFF_PASSWORD = "Anna#Empfang2024"


def test_admin_adds_a_staff_user_who_can_log_in(new_page: Callable[[], WebPage],
                                                new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    browser = approved_browser(new_page, cli)
    page = browser.page
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Benutzer").click()
    form = page.get_by_role("form", name="Benutzer anlegen")
    form.wait_for()
    assert "MartinW" in page.locator("table.list").inner_text()

    form.get_by_label("Kurzname des Benutzers *").fill("Anna Empfang")
    assert "2 bis 32 Zeichen" in form.locator("#user_short-error").inner_text()
    form.get_by_label("Kurzname des Benutzers *").fill("AnnaE")
    form.get_by_label("Passwort *", exact=True).fill(STAFF_PASSWORD)
    form.get_by_label("Passwort wiederholen *").fill(STAFF_PASSWORD)
    form.get_by_role("button", name="Benutzer anlegen").click()
    page.get_by_text("Benutzer „AnnaE“ ist angelegt.").wait_for(timeout=SLOW)
    row = page.get_by_role("row").filter(has_text="AnnaE")
    row.wait_for()
    assert "Mitarbeiter" in row.inner_text() and "aktiv" in row.inner_text()

    # The SDK checks the certificate the browser signed with the org key before it accepts the login.
    cli.logout()
    staff = cli.login("PWinkler", "annae", STAFF_PASSWORD)
    assert staff.role == "staff" and staff.user_short == "AnnaE"
    assert browser.csp_violations() == [] and browser.foreign_requests == []
