"""Arbeitsplätze/Endgeräte in the browser: lock and unlock another device, and revoke it with the keyring
rotation explained; afterwards the revoked device cannot log in, the browser holds keyring version 2 (also
after logging in again), and records sealed under version 1 stay readable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from interfaces.client import appointments
from interfaces.client.sdk import ApiError, Client
from tests.conftest import PASSWORD, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser, listed_by_sdk
from tests.web.test_devices import log_in
from tests.web.test_register_login import SLOW

BERLIN = ZoneInfo("Europe/Berlin")


def test_lock_unlock_and_revoke_with_rotation(new_page: Callable[[], WebPage],
                                              new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)  # its device is "Laptop Martin"
    cli.login("PWinkler", "MartinW", PASSWORD)
    day = (datetime.now(BERLIN) + timedelta(days=3)).date()
    appointments.add(cli, datetime(day.year, day.month, day.day, 9, 0), 15, "Zoë Groß")
    listed_by_sdk(cli, day, "Zoë Groß")
    browser = approved_browser(new_page, cli)
    page = browser.page
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Arbeitsplätze/Endgeräte").click()
    laptop = page.get_by_role("row").filter(has_text="Laptop Martin")
    laptop.wait_for()

    laptop.get_by_role("button", name="Sperren").click()
    page.get_by_text("„Laptop Martin“ ist gesperrt.").wait_for(timeout=SLOW)
    assert "gesperrt" in laptop.inner_text()
    with pytest.raises(ApiError) as refused:
        cli.login("PWinkler", "MartinW", PASSWORD)
    assert refused.value.status == 401
    laptop.get_by_role("button", name="Entsperren").click()
    page.get_by_text("„Laptop Martin“ ist entsperrt.").wait_for(timeout=SLOW)
    cli.login("PWinkler", "MartinW", PASSWORD)

    laptop.get_by_role("button", name="Widerrufen").click()
    dialog = page.get_by_role("alertdialog", name="Laptop Martin widerrufen")
    assert "Schlüsselbund erneuert (Version 2)" in dialog.inner_text()
    dialog.get_by_role("button", name="Endgültig widerrufen").click()
    page.get_by_text("„Laptop Martin“ ist widerrufen.").wait_for(timeout=SLOW)
    assert "widerrufen" in laptop.inner_text()
    assert "Schlüsselbund-Version dieses Geräts: 2" in page.locator("main").inner_text()
    with pytest.raises(ApiError):
        cli.login("PWinkler", "MartinW", PASSWORD)

    # Logging in again: the browser opens the version-2 grant and still reads the version-1 record.
    log_in(browser, "PWinkler", "MartinW", PASSWORD)
    page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    page.get_by_label("Tag", exact=True).fill(day.isoformat())
    page.get_by_role("row").filter(has_text="Zoë Groß").wait_for()
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Arbeitsplätze/Endgeräte").click()
    assert "Schlüsselbund-Version dieses Geräts: 2" in page.locator("main").inner_text()
    assert browser.csp_violations() == [] and browser.foreign_requests == []
