"""A new browser asks for approval, shows its pairing code and continues by itself once an approved browser
of the organisation typed that code (design/crypto.md §4.4); a wrong code is refused before anything is
signed."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import seed_form
from tests.web.conftest import WebPage
from tests.web.test_register_login import SLOW, fill, register_practice


def log_in(web: WebPage, org: str, user: str, password: str) -> None:
    web.goto("/anmelden")
    fill(web.page, "Kurzname der Organisation *", org)
    fill(web.page, "Kurzname des Benutzers *", user)
    fill(web.page, "Passwort *", password)
    web.page.get_by_role("button", name="Anmelden").click()


def test_new_browser_approved_by_pairing_code_logs_in_by_itself(new_page: Callable[[], WebPage]) -> None:
    form = seed_form()
    org, user, password = form["credentials"]["org_short"], form["credentials"]["user_short"], form["password"]
    practice = new_page()
    register_practice(practice, form)
    log_in(practice, org, user, password)
    practice.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)

    reception = new_page()  # another browser: its own IndexedDB, no device key
    log_in(reception, org, user, password)
    reception.page.get_by_role("button", name="Freischaltung anfordern").wait_for(timeout=SLOW)
    fill(reception.page, "Kurzname des Endgerätes *", "Empfang")
    reception.page.get_by_role("button", name="Freischaltung anfordern").click()
    reception.page.get_by_role("heading", name="Freischaltung dieses Geräts").wait_for(timeout=SLOW)
    code = reception.page.locator("#pairing-code").inner_text()
    assert len(code) == 14 and code[4] == code[9] == "-"

    menu = practice.page.get_by_role("navigation", name="Hauptmenü")
    menu.get_by_role("link", name="Arbeitsplätze/Endgeräte").click()
    waiting = practice.page.get_by_role("region", name="Freigabe von Empfang")
    waiting.wait_for()
    assert "Empfang" in practice.page.locator("table.list").inner_text()
    assert "wartet auf Freigabe" in practice.page.locator("table.list").inner_text()

    waiting.get_by_label("Kopplungscode von „Empfang“").fill("0000-0000-0000")
    waiting.get_by_role("button", name="Freigeben").click()
    alert = waiting.get_by_role("alert")
    alert.wait_for(timeout=SLOW)
    assert "Der Kopplungscode passt nicht zu den Schlüsseln des neuen Geräts" in alert.inner_text()

    waiting.get_by_label("Kopplungscode von „Empfang“").fill(code.lower().replace("-", " "))  # read out by phone
    waiting.get_by_role("button", name="Freigeben").click()
    practice.page.get_by_text("„Empfang“ ist freigegeben.").wait_for(timeout=SLOW)
    assert "freigegeben" in practice.page.locator("table.list").inner_text()

    # The new browser notices the approval, checks the approver's tag, pins the org key and logs in.
    reception.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    assert "Angemeldet als MartinW" in reception.page.locator("main").inner_text()

    for web in (practice, reception):
        assert web.csp_violations() == []
        assert web.foreign_requests == []
