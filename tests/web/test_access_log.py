"""Stammdaten → Zugriffsprotokoll in the browser (issue 14): an admin's browser opens the practice's sealed access
log and shows the login from a second device, in German and Berlin time; another practice's admin sees none of it;
a staff member has no such menu entry and the API refuses them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from interfaces.client import devices, users
from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, LiveServer, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import pending_device
from tests.web.test_devices import log_in
from tests.web.test_register_login import SLOW, fill

BERLIN = ZoneInfo("Europe/Berlin")
ADMIN = "MartinW"
STAFF_PASSWORD = "Empfang-2026!x"


def approved_browser(new_page: Callable[[], WebPage], cli: Client, org: str, user: str, password: str,
                     device: str) -> WebPage:
    """A browser of the SDK's practice, logged in as `user` and approved by the SDK with the pairing code it shows."""
    browser = new_page()
    log_in(browser, org, user, password)
    browser.page.get_by_role("button", name="Freischaltung anfordern").wait_for(timeout=SLOW)
    fill(browser.page, "Kurzname des Endgerätes *", device)
    browser.page.get_by_role("button", name="Freischaltung anfordern").click()
    code = browser.page.locator("#pairing-code")
    code.wait_for(timeout=SLOW)
    devices.approve(cli, pending_device(cli, device), code.inner_text())
    browser.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    return browser


def open_access_log(browser: WebPage) -> list[list[str]]:
    """The rows of the table (cells as shown), after following the menu entry."""
    browser.page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Zugriffsprotokoll").click()
    table = browser.page.get_by_role("table", name="Zugriffe auf das Konto der Praxis, neueste zuerst")
    table.wait_for(timeout=SLOW)
    return [[cell.strip() for cell in row.split("\t")]
            for row in table.locator("tbody tr").all_inner_texts()]


def test_the_admin_sees_the_login_from_a_second_device_and_no_other_practice_does(
        new_page: Callable[[], WebPage], new_client: Callable[[str], Client], server: LiveServer) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", ADMIN, PASSWORD)
    before = datetime.now(BERLIN)
    browser = approved_browser(new_page, cli, "PWinkler", ADMIN, PASSWORD, "Sprechzimmer 1")

    rows = open_access_log(browser)
    # newest first: the browser's own login is the top line, after its request and approval
    assert rows[0][1:5] == ["Anmeldung", ADMIN, "Sprechzimmer 1", "127.0.0.0/24"]
    events = [(row[1], row[3]) for row in rows]
    assert events.index(("Gerät freigegeben", "Sprechzimmer 1")) < events.index(("Gerät angefragt", "Sprechzimmer 1"))
    assert ("Anmeldung", "Sprechzimmer 1") in events and sum(1 for e in events if e[0] == "Anmeldung") >= 2
    # the time is shown in Berlin (the browser runs in Berlin too, so compare with the server's clock)
    assert rows[0][0].startswith(before.strftime("%d.%m.%Y"))
    assert browser.csp_violations() == [] and browser.foreign_requests == []
    assert browser.accessibility_problems() == []

    # Another practice: its admin's log holds its own logins only; our device and user never appear.
    neighbour = new_client("neighbour")
    register(neighbour, credentials__org_short="PNachbar")
    neighbour.login("PNachbar", ADMIN, PASSWORD)
    theirs = open_access_log(approved_browser(new_page, neighbour, "PNachbar", ADMIN, PASSWORD, "Praxis Nachbar"))
    assert ("Anmeldung", "Praxis Nachbar") in [(row[1], row[3]) for row in theirs]
    assert not any("Sprechzimmer 1" in cell for row in theirs for cell in row)


def test_staff_have_no_access_log(new_page: Callable[[], WebPage], new_client: Callable[[str], Client],
                                  server: LiveServer) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", ADMIN, PASSWORD)
    users.add_user(cli, "Empfang", "staff", STAFF_PASSWORD)
    staff = approved_browser(new_page, cli, "PWinkler", "Empfang", STAFF_PASSWORD, "Empfang")
    menu = staff.page.get_by_role("navigation", name="Hauptmenü")
    assert menu.get_by_role("link", name="Vertrag").is_visible()
    assert menu.get_by_role("link", name="Zugriffsprotokoll").count() == 0
    # following an old link (the session lives in the page, so navigate within it) ends in the API's refusal
    staff.page.evaluate("history.pushState(null, '', '/stammdaten/zugriffsprotokoll');"
                        " dispatchEvent(new PopStateEvent('popstate'))")
    assert "Nur Administratoren dürfen das Zugriffsprotokoll lesen." in \
        staff.page.get_by_role("alert").inner_text(timeout=SLOW)
    token = staff.page.evaluate("sessionStorage.getItem('sprechzimmer.token')")
    refused = httpx.get(server.url + "/api/v1/access-log", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Nur Administratoren dürfen das Zugriffsprotokoll lesen."
