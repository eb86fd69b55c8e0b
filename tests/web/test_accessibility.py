"""axe-core (served from node_modules, no network) finds no serious or critical violation on the pages."""

from __future__ import annotations

from collections.abc import Callable

from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_register_login import fill


def test_public_pages(web: WebPage) -> None:
    page = web.page
    web.goto("/join")
    page.get_by_role("heading", name="Videosprechstunde beitreten").wait_for()
    page.get_by_role("button", name="Weiter").click()  # with the error shown
    assert web.accessibility_problems() == []

    web.goto("/anmelden")
    page.get_by_role("heading", name="Anmelden").wait_for()
    assert web.accessibility_problems() == []

    web.goto("/registrierung")
    page.get_by_role("heading", name="Schritt 1: Organisation").wait_for()
    page.get_by_role("button", name="Weiter").click()  # every field error at once
    assert web.accessibility_problems() == []
    fill(page, "PLZ *", "12345")

    web.goto("/status")  # public, without logging in
    state = page.get_by_role("region", name="Zustand des Dienstes").get_by_role("status")
    state.wait_for()
    assert state.inner_text() == "Der Dienst arbeitet normal."
    # the public page tells nothing about the deployment (issue 10.9: details need the operator token)
    assert "SQLite" not in page.locator("main").inner_text() and "PostgreSQL" not in page.locator("main").inner_text()
    assert web.accessibility_problems() == []
    assert web.csp_violations() == []


def test_pages_of_a_logged_in_practice(new_page: Callable[[], WebPage], new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    browser = approved_browser(new_page, cli)
    page = browser.page
    assert browser.accessibility_problems() == []  # Termine, with the new-appointment form
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Arbeitsplätze/Endgeräte").click()
    page.locator("table.list").wait_for()
    assert browser.accessibility_problems() == []
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Benutzer").click()
    page.get_by_role("form", name="Benutzer anlegen").wait_for()
    page.get_by_role("button", name="Benutzer anlegen").click()  # with its field errors
    assert browser.accessibility_problems() == []
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Zugriffsprotokoll").click()
    page.get_by_role("table", name="Zugriffe auf das Konto der Praxis, neueste zuerst").wait_for()
    assert browser.accessibility_problems() == []
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Status").click()
    page.get_by_role("region", name="Zustand des Dienstes").wait_for()
    assert browser.accessibility_problems() == []
    assert browser.csp_violations() == []
