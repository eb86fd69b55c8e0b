"""A practice registered in the browser is usable from the Python SDK/CLI and the other way round
(issue 11): each side approves the other's new device by pairing code, checks the other's tags and
signatures, and opens the keyring the other sealed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from interfaces.client import appointments, devices
from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, register, seed_form
from tests.web.conftest import WebPage
from tests.web.test_appointments import pending_device
from tests.web.test_devices import log_in
from tests.web.test_register_login import SLOW, fill, register_practice

ORG, USER = "PWinkler", "MartinW"


def test_browser_practice_approves_an_sdk_device(new_page: Callable[[], WebPage],
                                                 new_client: Callable[[str], Client]) -> None:
    practice = new_page()
    register_practice(practice, seed_form())
    log_in(practice, ORG, USER, PASSWORD)
    practice.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)

    cli = new_client("cli")
    enrolment = devices.enroll(cli, ORG, USER, PASSWORD, "Praxis-PC")
    practice.page.get_by_role("navigation", name="Hauptmenü").get_by_role(
        "link", name="Arbeitsplätze/Endgeräte").click()
    waiting = practice.page.get_by_role("region", name="Freigabe von Praxis-PC")
    waiting.get_by_label("Kopplungscode von „Praxis-PC“").fill(enrolment.pairing_code)
    waiting.get_by_role("button", name="Freigeben").click()
    practice.page.get_by_text("„Praxis-PC“ ist freigegeben.").wait_for(timeout=SLOW)

    # The SDK checks the browser's approver tag and grant, pins the org key, and works with the keyring.
    session = cli.login(ORG, USER, PASSWORD)
    assert session.keyring.version == 1 and session.role == "admin"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    made = appointments.add(cli, start, 30, "Jörg Weiß-Öztürk", note="Rückruf")
    assert appointments.show(cli, made.appointment_id).patient.name == "Jörg Weiß-Öztürk"


def test_sdk_practice_approves_a_browser(new_page: Callable[[], WebPage], new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login(ORG, USER, PASSWORD)

    browser = new_page()
    log_in(browser, ORG, USER, PASSWORD)
    browser.page.get_by_role("button", name="Freischaltung anfordern").wait_for(timeout=SLOW)
    fill(browser.page, "Kurzname des Endgerätes *", "Empfang")
    browser.page.get_by_role("button", name="Freischaltung anfordern").click()
    code = browser.page.locator("#pairing-code")
    code.wait_for(timeout=SLOW)
    # approve() verifies the browser's pairing tag over its keys under the typed code
    devices.approve(cli, pending_device(cli, "Empfang"), code.inner_text())

    browser.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    assert "Angemeldet als MartinW (Administrator) bei PWinkler" in browser.page.locator("main").inner_text()
    assert browser.csp_violations() == [] and browser.foreign_requests == []
