"""The consultation in the browser (issue 12): the patient page /join and the practice's call screen, two
browser contexts of Debian's Chromium with fake camera and microphone, against the real server on SQLite and
PostgreSQL.

- the patient waits, the practice admits, and both pages decode the other's video frames
  (requestVideoFrameCallback) and hear audio energy, over a path shown as "direkt"; nothing leaves the origin;
- a patient who arrives ten minutes early is told the start time and waits;
- the SDK's aiortc call client (`sprechzimmer call`) on the other side, in both directions;
- screen sharing on basis is refused with the plan's message;
- a relayed call through the coturn the call tests start is shown as "über TURN";
- every language renders the join page without missing keys, Arabic right to left.

Screen sharing on plus, the conference, the reconnect with ICE restart and the tampering relay are in
test_call_media.py.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from interfaces.client import appointments
from interfaces.client.call import Call
from interfaces.client.sdk import Client
from tests.calls.media import Coturn
from tests.calls.support import with_consent
from tests.calls.test_call_e2e import coturn_secret
from tests.conftest import free_port
from tests.web import calls
from tests.web.calls import (
    PRACTICE_NAME,
    admitted_and_both_see_and_hear,
    frames_flow,
    open_call_screen,
    patient_enters,
    session_token,
)
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_register_login import SLOW

MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember"]

# The call tests' fixtures: Chromium with fake camera and microphone, a registered practice.
browser, cli = calls.browser, calls.cli


def test_patient_waits_is_admitted_and_both_see_and_hear(new_page: Callable[[], WebPage], cli: Client) -> None:
    practice = approved_browser(new_page, cli)
    planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, "Patientin Özdemir")
    patient = new_page()
    patient_enters(patient, planned.patient.codes["patient"])
    assert "Die Sprechstunde beginnt am" in patient.page.locator(".waiting-room").inner_text()
    # the Einwilligung given on the patient page is recorded with the appointment (Art. 9 DSGVO, issue 15.5)
    consent = appointments.show(cli, planned.appointment_id).consent
    assert consent is not None and consent["method"] == "Teilnahmeseite"

    open_call_screen(practice, planned.appointment_id)
    admitted_and_both_see_and_hear(patient, practice)
    assert practice.page.locator(".waiting-list li").count() == 0

    # Screen sharing is a plus feature: on basis the plan's message, and the call goes on.
    practice.page.get_by_role("button", name="Bildschirm teilen").click()
    practice.page.get_by_text("Die Bildschirmfreigabe ist nur im Tarif plus enthalten.").wait_for()
    frames_flow(practice, 30)

    for side in (patient, practice):
        assert side.foreign_requests == []
        assert side.csp_violations() == []
    assert patient.accessibility_problems() == []


def test_patient_ten_minutes_early_waits(new_page: Callable[[], WebPage], cli: Client) -> None:
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=11)
    planned = appointments.add(cli, starts, 30, "Frühe Patientin")
    patient = new_page()
    local = starts.astimezone(ZoneInfo("Europe/Berlin"))
    # Before the waiting room the page says who invites (the name as registered, umlauts intact) and when,
    # in Berlin time.
    summary: list[str] = []
    patient_enters(patient, planned.patient.codes["patient"],
                   seen=lambda: summary.append(patient.page.locator("dl.summary").inner_text()))
    assert f"Praxis\n{PRACTICE_NAME}\nBeginn" in summary[0]
    assert f"{local.day}. {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}" in summary[0]
    assert f"um {local:%H:%M} Uhr" in patient.page.locator(".waiting-room").inner_text()
    assert patient.page.locator(".tile").count() == 0
    assert patient.accessibility_problems() == []


LANGUAGES = {"de": "Videosprechstunde beitreten", "en": "Join the video consultation",
             "tr": "Görüntülü muayeneye katılın", "ar": "الانضمام إلى الاستشارة بالفيديو",
             "ru": "Присоединиться к видеоконсультации", "uk": "Приєднатися до відеоконсультації",
             "pl": "Dołącz do wideokonsultacji"}


def test_every_language_renders_the_join_page(web: WebPage) -> None:
    web.goto("/join")
    web.page.get_by_role("heading", name=LANGUAGES["de"]).wait_for()
    for lang, title in LANGUAGES.items():
        web.page.get_by_role("combobox").select_option(lang)
        web.page.get_by_role("heading", name=title).wait_for()
        # The document's language follows the render (an effect): wait for it rather than race it.
        web.page.wait_for_function("(lang) => document.documentElement.lang === lang", arg=lang)
        assert web.page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
        text = web.page.locator("body").inner_text()
        assert "undefined" not in text and "code.label" not in text and "footer." not in text
        web.page.get_by_role("button").first.wait_for()
    assert web.accessibility_problems() == []


def test_browser_language_chooses_the_catalogue(browser: Any, server: Any) -> None:
    context = browser.new_context(base_url=server.url, locale="tr-TR")
    try:
        page = context.new_page()
        page.goto(server.url + "/join")
        page.get_by_role("heading", name=LANGUAGES["tr"]).wait_for()
    finally:
        context.close()


class Loop:
    """An asyncio loop in a thread for the SDK's aiortc call client next to the synchronous playwright."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def test_browser_patient_with_the_aiortc_practitioner(new_page: Callable[[], WebPage], cli: Client,
                                                      server: Any, aio: Loop) -> None:
    planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, "Patientin Kaya")
    codes = planned.patient.codes
    doctor = Call(server.url, codes["practitioner"], codes["patient"], session_token=session_token(cli))
    try:
        aio.run(doctor.start())  # auto-admits whoever waits, as `sprechzimmer call` does
        patient = new_page()
        patient_enters(patient, codes["patient"], then="Videosprechstunde")  # admitted at once
        frames_flow(patient)
        aio.run(doctor.wait_frames(15, timeout=90))
        assert doctor.path() == "direct"
        assert patient.foreign_requests == []
    finally:
        aio.run(doctor.close())


def test_browser_practitioner_with_the_aiortc_patient(new_page: Callable[[], WebPage], cli: Client,
                                                      server: Any, aio: Loop) -> None:
    practice = approved_browser(new_page, cli)
    planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, "Patient Schulz")
    with_consent(cli, planned)  # recorded by the practice: the aiortc patient has no consent page
    patient = Call(server.url, planned.patient.codes["patient"])
    try:
        aio.run(patient.start())
        open_call_screen(practice, planned.appointment_id)
        practice.page.get_by_role("button", name="Hereinholen").click(timeout=SLOW)
        frames_flow(practice)
        aio.run(patient.wait_frames(15, timeout=90))
        assert "direkt" in practice.page.locator(".path").inner_text()
        assert practice.foreign_requests == []
    finally:
        aio.run(patient.close())


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[Coturn]:
    """Debian's coturn on 127.0.0.1, as the call tests start it (tests/calls/media.py)."""
    relay = Coturn(tmp_path / "coturn", free_port(), secrets.token_hex(16), 49160 + (os.getpid() % 40) * 40)
    try:
        relay.wait_ready()
        yield relay
    finally:
        relay.stop()


def test_relayed_call_through_coturn_is_shown_as_such(new_page: Callable[[], WebPage], cli: Client,
                                                      server: Any, aio: Loop, turn: Coturn) -> None:
    """The other side allows only relayed paths (as behind a strict firewall): the browser's pre-call check
    finds TURN reachable, the call flows through coturn and the page says "über TURN"."""
    server.container.settings = replace(server.container.settings, turn_urls=(turn.url,),
                                        turn_secret=coturn_secret(turn), turn_ttl_seconds=600)
    planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, "Patient Wolf")
    codes = planned.patient.codes
    doctor = Call(server.url, codes["practitioner"], codes["patient"], session_token=session_token(cli),
                  relay_only=True)
    try:
        aio.run(doctor.start())
        patient = new_page()
        patient.goto(f"/join#{codes['patient']}")
        patient.page.get_by_role("button", name="Weiter").click()
        patient.page.locator('.checks li[data-result="ok"]').filter(has_text="Weiterleitung (TURN)").wait_for(
            timeout=SLOW)
        patient.page.get_by_role("checkbox").check()
        patient.page.get_by_role("button", name="Warteraum betreten").click()
        frames_flow(patient)
        patient.page.locator('.path[data-path="relayed"]').wait_for(timeout=SLOW)
        assert "über TURN" in patient.page.locator(".path").inner_text()
        aio.run(doctor.wait_frames(15, timeout=90))
        assert doctor.path() == "relayed"
        assert patient.foreign_requests == []
    finally:
        aio.run(doctor.close())
