"""Benutzer in the browser, the administrator's side: role change (a new org-signed certificate), deactivate and
reactivate, a staff password reset in person; the own password and master-password change. The SDK checks each
result the way a colleague's client would."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from interfaces.client import recovery, users
from interfaces.client.sdk import ApiError, Client
from tests.conftest import MASTER_PASSWORD, PASSWORD, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_devices import log_in
from tests.web.test_register_login import SLOW

STAFF_PASSWORD = "Anna#Empfang2024"
NEW_STAFF_PASSWORD = "Anna#Neu2025!"
NEW_PASSWORD = "Winkler#Neu2025!"
NEW_MASTER = "Neues Ärztehaus Nord: Schlüssel 9?"
RECOVERED_PASSWORD = "Winkler#Zurueck7"


def recover_in_browser(browser: WebPage, master: str, device: str | None = None, user: str | None = None,
                       password: str | None = None) -> WebPage:
    """Zugang wiederherstellen from the login page, then the login that follows (with the new password if set)."""
    page = browser.page
    if device is not None:
        browser.goto("/anmelden")
        page.get_by_role("link", name="Zugang wiederherstellen").click()
    form = page.get_by_role("form", name="Mit dem Masterpasswort")
    form.get_by_label("Kurzname der Organisation *").fill("PWinkler")
    form.get_by_label("Masterpasswort *").fill(master)
    if device is not None:
        form.get_by_label("Kurzname des Endgerätes").fill(device)
    if user and password:
        form.get_by_label("Kurzname des Benutzers").fill(user)
        form.get_by_label("Neues Passwort", exact=True).fill(password)
        form.get_by_label("Neues Passwort wiederholen").fill(password)
    assert browser.accessibility_problems() == []
    form.get_by_role("button", name="Zugang wiederherstellen").click()
    page.get_by_role("button", name="Weiter zur Anmeldung").click(timeout=SLOW)
    page.get_by_label("Passwort *").fill(password or PASSWORD)
    if not user:
        page.get_by_label("Kurzname des Benutzers *").fill("MartinW")
    page.get_by_role("button", name="Anmelden").click()
    return browser


def users_page(browser: WebPage) -> None:
    browser.page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Benutzer").click()
    browser.page.get_by_role("heading", name="Benutzer", level=1).wait_for()


def listed(cli: Client, user: str) -> dict[str, object]:
    return next(u for u in users.list_users(cli) if u["user_short"] == user)


def role_at_login(cli: Client, user: str, password: str) -> str | None:
    """The role the SDK accepts at that user's login on the same machine (None: refused), then back to MartinW."""
    cli.logout()
    try:
        return cli.login("PWinkler", user, password).role
    except ApiError:
        return None
    finally:
        if cli.session is not None:
            cli.logout()
        cli.login("PWinkler", "MartinW", PASSWORD)


def test_role_change_deactivation_and_reset_are_seen_by_the_sdk(new_page: Callable[[], WebPage],
                                                                new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    users.add_user(cli, "AnnaE", "staff", STAFF_PASSWORD)
    browser = approved_browser(new_page, cli)
    page = browser.page
    users_page(browser)
    row = page.get_by_role("row").filter(has_text="AnnaE")
    row.wait_for()
    assert browser.accessibility_problems() == []

    row.get_by_role("button", name="Zum Administrator machen").click()
    page.get_by_role("status").filter(has_text="„AnnaE“ ist jetzt Administrator.").wait_for(timeout=SLOW)
    assert "Administrator" in row.inner_text()
    assert listed(cli, "AnnaE")["role"] == "admin"
    assert role_at_login(cli, "AnnaE", STAFF_PASSWORD) == "admin"  # the SDK verifies the new certificate

    row.get_by_role("button", name="Zum Mitarbeiter machen").click()
    page.get_by_role("status").filter(has_text="„AnnaE“ ist jetzt Mitarbeiter.").wait_for(timeout=SLOW)
    row.get_by_role("button", name="Deaktivieren").click()
    page.get_by_role("status").filter(has_text="„AnnaE“ ist deaktiviert.").wait_for(timeout=SLOW)
    assert "deaktiviert" in row.inner_text()
    assert listed(cli, "AnnaE")["active"] is False
    assert role_at_login(cli, "AnnaE", STAFF_PASSWORD) is None
    row.get_by_role("button", name="Reaktivieren").click()
    page.get_by_role("status").filter(has_text="„AnnaE“ ist reaktiviert.").wait_for(timeout=SLOW)
    assert listed(cli, "AnnaE")["active"] is True

    row.get_by_role("button", name="Passwort zurücksetzen").click()
    reset = page.get_by_role("form", name="Passwort von AnnaE zurücksetzen")
    reset.get_by_label("Neues Passwort *", exact=True).fill("kurz")
    reset.get_by_label("Neues Passwort wiederholen *").fill("kurz")
    reset.get_by_role("button", name="Passwort setzen").click()
    assert "8 bis 32 Zeichen" in reset.inner_text()
    reset.get_by_label("Neues Passwort *", exact=True).fill(NEW_STAFF_PASSWORD)
    reset.get_by_label("Neues Passwort wiederholen *").fill(NEW_STAFF_PASSWORD)
    reset.get_by_role("button", name="Passwort setzen").click()
    page.get_by_role("status").filter(has_text="Das Passwort von „AnnaE“ ist neu gesetzt.").wait_for(timeout=SLOW)
    assert role_at_login(cli, "AnnaE", NEW_STAFF_PASSWORD) == "staff"
    assert browser.accessibility_problems() == []
    assert browser.csp_violations() == [] and browser.foreign_requests == []


def test_own_password_and_master_password_change(new_page: Callable[[], WebPage],
                                                 new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    browser = approved_browser(new_page, cli)
    page = browser.page
    users_page(browser)

    own = page.get_by_role("form", name="Eigenes Passwort ändern")
    own.get_by_label("Bisheriges Passwort *").fill("Falsch#Passwort1")
    own.get_by_label("Neues Passwort *", exact=True).fill(NEW_PASSWORD)
    own.get_by_label("Neues Passwort wiederholen *").fill(NEW_PASSWORD)
    own.get_by_role("button", name="Passwort ändern").click()
    own.get_by_role("alert").wait_for(timeout=SLOW)
    assert "Das bisherige Passwort ist falsch." in own.inner_text()
    own.get_by_label("Bisheriges Passwort *").fill(PASSWORD)
    own.get_by_label("Neues Passwort *", exact=True).fill(NEW_PASSWORD)
    own.get_by_label("Neues Passwort wiederholen *").fill(NEW_PASSWORD)
    own.get_by_role("button", name="Passwort ändern").click()
    own.get_by_role("status").filter(has_text="Ihr Passwort ist geändert.").wait_for(timeout=SLOW)

    master = page.get_by_role("form", name="Masterpasswort ändern")
    master.get_by_label("Bisheriges Masterpasswort *").fill("Ein ganz falsches Masterpasswort 1")
    master.get_by_label("Neues Masterpasswort *", exact=True).fill(NEW_MASTER)
    master.get_by_label("Neues Masterpasswort wiederholen *").fill(NEW_MASTER)
    master.get_by_role("button", name="Masterpasswort ändern").click()
    master.get_by_text("Das bisherige Masterpasswort ist falsch.").first.wait_for(timeout=SLOW)
    master.get_by_label("Bisheriges Masterpasswort *").fill(MASTER_PASSWORD)
    master.get_by_label("Neues Masterpasswort *", exact=True).fill(NEW_MASTER)
    master.get_by_label("Neues Masterpasswort wiederholen *").fill(NEW_MASTER)
    master.get_by_role("button", name="Masterpasswort ändern").click()
    master.get_by_role("status").filter(has_text="Das Masterpasswort ist geändert.").wait_for(timeout=SLOW)
    assert browser.accessibility_problems() == []

    # Log out and in again in the browser with the new password.
    page.get_by_role("button", name="Abmelden").click()
    log_in(browser, "PWinkler", "MartinW", NEW_PASSWORD)
    page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    assert browser.csp_violations() == [] and browser.foreign_requests == []
    # The old master password no longer recovers anything; the new one does, on a fresh browser.
    with pytest.raises(ApiError):
        recovery.recover(new_client("other"), "PWinkler", MASTER_PASSWORD, "Neuer Laptop")
    fresh = recover_in_browser(new_page(), NEW_MASTER, "Neuer Laptop", user="MartinW", password=RECOVERED_PASSWORD)
    fresh.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    assert fresh.csp_violations() == [] and fresh.foreign_requests == []
