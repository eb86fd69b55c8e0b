"""A new version of the Nutzungsbedingungen or the AVV is asked for after the next login in the practice app
(issue 15 item 1): the texts are linked, an administrator accepts for the practice, and it is not asked again."""

from __future__ import annotations

from collections.abc import Callable

from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, LiveServer, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_devices import log_in
from tests.web.test_register_login import SLOW


def test_a_new_avv_version_is_accepted_after_login(new_page: Callable[[], WebPage],
                                                    new_client: Callable[[str], Client], server: LiveServer) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    browser = approved_browser(new_page, cli)
    notice = browser.page.get_by_role("region", name="Neue Vertragstexte")
    assert notice.count() == 0  # registration accepted the current versions

    current = dict(server.container.services.legal_versions)
    server.container.services.legal_versions = {**current, "avv": "2099-01-01"}
    log_in(browser, "PWinkler", "MartinW", PASSWORD)  # a fresh page: the next login
    notice.wait_for(timeout=SLOW)
    link = notice.get_by_role("link", name="Auftragsverarbeitungsvertrag")
    assert link.get_attribute("href") == "/rechtliches/avv" and "Fassung 2099-01-01" in notice.inner_text()
    assert browser.accessibility_problems() == []
    notice.get_by_role("button", name="Zustimmen").click()
    notice.wait_for(state="detached", timeout=SLOW)

    assert cli.login("PWinkler", "MartinW", PASSWORD).legal_pending == []  # recorded for the practice
    assert browser.csp_violations() == [] and browser.foreign_requests == []
