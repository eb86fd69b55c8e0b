"""Termine on plan plus in the browser: a conference with its own codes and the Konferenzcode only in the
record and the invitations; an SMS invitation whose size and price are shown before it is sent; a reminder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from infrastructure.settings import Settings
from interfaces.client import appointments
from interfaces.client.sdk import Client
from tests.api.test_no_plaintext_at_rest import forms, raw_storage
from tests.appointments.conftest import PLUS_BILLING, SmsGatewayServer, sms_gateway  # noqa: F401 (fixture)
from tests.conftest import PASSWORD, LiveServer, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser, listed_by_sdk
from tests.web.test_appointments_termine import sdk_sees
from tests.web.test_register_login import SLOW

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def settings(settings: Settings, sms_gateway: SmsGatewayServer) -> Settings:  # noqa: F811 (the gateway fixture)
    return replace(settings, sms_gateway_url=sms_gateway.url, sms_gateway_token="test-token")


def plus_browser(new_page: Callable[[], WebPage], new_client: Callable[[str], Client]) -> tuple[Client, WebPage]:
    cli = new_client("cli")
    register(cli, plan="plus", billing=PLUS_BILLING)
    cli.login("PWinkler", "MartinW", PASSWORD)
    return cli, approved_browser(new_page, cli)


def test_conference_sms_and_reminder_on_plus(new_page: Callable[[], WebPage], new_client: Callable[[str], Client],
                                             server: LiveServer, sms_gateway: SmsGatewayServer  # noqa: F811
                                             ) -> None:
    cli, browser = plus_browser(new_page, new_client)
    page = browser.page
    day = (datetime.now(BERLIN) + timedelta(days=2)).date()
    page.get_by_label("Tag", exact=True).fill(day.isoformat())

    # A conference: three participants, each with a code, and the Konferenzcode in the record only.
    form = page.get_by_role("form", name="Neuer Termin")
    form.get_by_label("Uhrzeit *").fill("16:00")
    form.get_by_label("Name des Patienten *").fill("Hannelore Süß")
    form.get_by_label("Teilnehmende (ohne Behandler)").select_option("3")
    form.get_by_role("button", name="Termin anlegen").click()
    detail = page.get_by_role("region", name="Termin mit Hannelore Süß")
    detail.wait_for(timeout=SLOW)
    conference = listed_by_sdk(cli, day, "Hannelore Süß")
    record = conference.patient
    assert set(record.codes) == {"practitioner", "patient", "patient-2", "patient-3"} and record.call_code
    text = detail.inner_text()
    assert all(code in text for code in record.codes.values()) and record.call_code in text
    detail.get_by_label("Einladung für").select_option("patient-2")
    detail.get_by_label("Name der/des Teilnehmenden").fill("Jürgen Süß")
    invitation = detail.get_by_label("Einladungstext").input_value()
    sdk = appointments.invitation(cli, conference, participant="patient-2", name="Jürgen Süß")
    assert invitation == sdk.body and record.codes["patient-2"] in invitation and record.call_code in invitation
    assert record.codes["patient"] not in invitation
    assert browser.accessibility_problems() == []

    # 1:1 with a phone: the SMS's size and price are shown before it is sent, then it is sent once.
    form.get_by_label("Uhrzeit *").fill("17:00")
    form.get_by_label("Name des Patienten *").fill("Grete Weiß")
    form.get_by_label("Telefon").fill("0171 7654321")
    form.get_by_role("button", name="Termin anlegen").click()
    detail = page.get_by_role("region", name="Termin mit Grete Weiß")
    detail.wait_for(timeout=SLOW)
    grete = listed_by_sdk(cli, day, "Grete Weiß")
    detail.get_by_role("button", name="SMS-Kosten anzeigen").click()
    size = appointments.send_sms_invitation(cli, grete.appointment_id, preview=True).sms
    assert size is not None
    detail.get_by_text(f"Die SMS: {appointments.sms_size(size)}").wait_for()
    assert "0,10 EUR" in detail.inner_text() and sms_gateway.received == []  # nothing sent by the preview
    detail.get_by_role("button", name="SMS jetzt senden").click()
    detail.get_by_text("SMS-Einladung versandt").wait_for()
    texts = sms_gateway.texts_to("+491717654321")
    assert len(texts) == 1 and grete.patient.codes["patient"] in texts[0]

    detail.get_by_label("Erinnerung").select_option("120")
    detail.get_by_role("button", name="Erinnerung anfordern").click()
    detail.get_by_text("Die SMS-Erinnerung ist eingerichtet.").wait_for()
    assert sdk_sees(cli, grete.appointment_id, lambda a: bool(a.reminder)).reminder

    stored = raw_storage(server)
    for value in ("Hannelore Süß", "Grete Weiß", "0171 7654321", "1717654321", record.call_code,
                  record.codes["patient-2"]):
        assert not any(form_ in stored for form_ in forms(value)), value
    assert browser.csp_violations() == [] and browser.foreign_requests == []
