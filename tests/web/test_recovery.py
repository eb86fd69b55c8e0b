"""Zugang wiederherstellen in the browser: a browser waiting for approval approves itself with the master
password (no second device needed) and then logs in; a wrong master password is refused with a German message.
(Recovery with a changed master password on a fresh browser: tests/web/test_users_admin.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable

from interfaces.client import devices
from interfaces.client.sdk import Client
from tests.conftest import MASTER_PASSWORD, PASSWORD, register
from tests.web.conftest import WebPage
from tests.web.test_devices import log_in
from tests.web.test_register_login import SLOW, fill
from tests.web.test_users_admin import recover_in_browser


def test_a_waiting_browser_approves_itself_with_the_master_password(new_page: Callable[[], WebPage],
                                                                     new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    browser = new_page()
    page = browser.page
    log_in(browser, "PWinkler", "MartinW", PASSWORD)
    page.get_by_role("button", name="Freischaltung anfordern").wait_for(timeout=SLOW)
    fill(page, "Kurzname des Endgerätes *", "Empfang")
    page.get_by_role("button", name="Freischaltung anfordern").click()
    page.locator("#pairing-code").wait_for(timeout=SLOW)
    page.get_by_role("link", name="Mit dem Masterpasswort freischalten").click()

    form = page.get_by_role("form", name="Mit dem Masterpasswort")
    form.get_by_label("Masterpasswort *").fill("Das ist nicht das Masterpasswort 1")
    form.get_by_role("button", name="Zugang wiederherstellen").click()
    form.get_by_role("alert").wait_for(timeout=SLOW)
    assert form.get_by_role("alert").inner_text().strip() != ""

    recover_in_browser(browser, MASTER_PASSWORD)
    page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    # The same browser (its keys, its name) is approved, by the master password.
    for _ in range(40):  # the device list is a read model that follows within moments
        listed = {d["name"]: d["status"] for d in devices.list_devices(cli)["devices"]}
        if listed.get("Empfang") == "approved":
            break
        time.sleep(0.25)
    assert listed["Empfang"] == "approved"
    assert browser.csp_violations() == [] and browser.foreign_requests == []
