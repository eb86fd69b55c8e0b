"""Termine in the browser: an appointment created in the browser is decrypted by the SDK/CLI and the other way
round (umlauts, ß); times are Berlin wall-clock times; the server's storage holds no patient plaintext."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from interfaces.client import appointments, devices
from interfaces.client.sdk import Client
from tests.api.test_no_plaintext_at_rest import forms, raw_storage
from tests.conftest import PASSWORD, LiveServer, register
from tests.web.conftest import WebPage
from tests.web.test_devices import log_in
from tests.web.test_register_login import SLOW, fill

BERLIN = ZoneInfo("Europe/Berlin")


def pending_device(cli: Client, name: str) -> str:
    """The id of the device waiting under that name (the device list is a read model: wait for it)."""
    for _ in range(40):
        for device in devices.list_devices(cli)["devices"]:
            if device["status"] == "pending" and device["name"] == name and device.get("pairing_tag"):
                return str(device["device_id"])
        time.sleep(0.25)
    raise AssertionError(f"no pending device {name}")


def approved_browser(new_page: Callable[[], WebPage], cli: Client) -> WebPage:
    """A browser of the SDK's practice, approved by the SDK with the pairing code it shows."""
    browser = new_page()
    log_in(browser, "PWinkler", "MartinW", PASSWORD)
    browser.page.get_by_role("button", name="Freischaltung anfordern").wait_for(timeout=SLOW)
    fill(browser.page, "Kurzname des Endgerätes *", "Sprechzimmer 1")
    browser.page.get_by_role("button", name="Freischaltung anfordern").click()
    code = browser.page.locator("#pairing-code")
    code.wait_for(timeout=SLOW)
    devices.approve(cli, pending_device(cli, "Sprechzimmer 1"), code.inner_text())
    browser.page.get_by_role("heading", name="Termine").wait_for(timeout=SLOW)
    return browser


def listed_by_sdk(cli: Client, day: date, name: str) -> appointments.Appointment:
    """The calendar is a read model: it shows a new appointment within moments."""
    for _ in range(40):
        listed = {a.patient.name: a for a in appointments.listing(cli, day=day)}
        if name in listed:
            return listed[name]
        time.sleep(0.25)
    raise AssertionError(f"{name} not in the calendar of {day}")


def test_appointments_cross_between_browser_and_sdk(new_page: Callable[[], WebPage],
                                                    new_client: Callable[[str], Client],
                                                    server: LiveServer) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    browser = approved_browser(new_page, cli)
    page = browser.page
    day = (datetime.now(BERLIN) + timedelta(days=2)).date()

    # SDK → browser: the browser opens the record and shows both codes.
    made = appointments.add(cli, datetime(day.year, day.month, day.day, 10, 0), 30, "Jörg Weiß-Öztürk",
                            note="Straße 5")
    listed_by_sdk(cli, day, "Jörg Weiß-Öztürk")  # in the calendar read model before the browser asks
    page.get_by_label("Tag", exact=True).fill(day.isoformat())
    row = page.get_by_role("row").filter(has_text="Jörg Weiß-Öztürk")
    row.wait_for()
    assert "10:00" in row.inner_text() and "30 Min." in row.inner_text()
    row.get_by_role("button", name="Jörg Weiß-Öztürk").click()
    detail = page.get_by_role("region", name="Termin mit Jörg Weiß-Öztürk")
    assert made.patient.codes["patient"] in detail.inner_text()
    assert made.patient.codes["practitioner"] in detail.inner_text()
    assert "Straße 5" in detail.inner_text()

    # Browser → SDK: encrypted in the page, opened by the SDK; a Berlin wall-clock time.
    form = page.get_by_role("form", name="Neuer Termin")
    assert form.get_by_label("Datum *").input_value() == day.isoformat()  # the calendar's day
    form.get_by_label("Uhrzeit *").fill("11:30")
    form.get_by_label("Dauer in Minuten *").fill("20")
    form.get_by_label("Name des Patienten *").fill("Erika Müßig")
    form.get_by_label("E-Mail").fill("erika@@example")
    assert form.get_by_text("Bitte eine gültige E-Mail-Adresse eingeben.").is_visible()
    form.get_by_label("E-Mail").fill("erika.muessig@example.de")
    form.get_by_label("Notiz").fill("Rückruf wegen Blutdruck")
    form.get_by_role("button", name="Termin anlegen").click()
    page.get_by_role("region", name="Termin mit Erika Müßig").wait_for(timeout=SLOW)
    page.get_by_role("row").filter(has_text="Erika Müßig").wait_for()  # and in the day's list

    erika = listed_by_sdk(cli, day, "Erika Müßig")
    assert erika.patient.note == "Rückruf wegen Blutdruck" and erika.patient.email == "erika.muessig@example.de"
    assert erika.starts_at.astimezone(BERLIN).strftime("%H:%M") == "11:30" and erika.duration_minutes == 20
    codes = erika.patient.codes
    assert set(codes) == {"practitioner", "patient"} and codes["practitioner"] != codes["patient"]
    assert codes["patient"] in page.get_by_role("region", name="Termin mit Erika Müßig").inner_text()

    # Cancelled in the browser (after confirming): the SDK sees it cancelled.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("region", name="Termin mit Erika Müßig").get_by_role("button", name="Termin absagen").click()
    page.get_by_role("region", name="Termin mit Erika Müßig").get_by_text("abgesagt").wait_for()
    assert appointments.show(cli, erika.appointment_id).status == "cancelled"

    stored = raw_storage(server)
    for value in ("Erika Müßig", "Müßig", "erika.muessig@example.de", "Rückruf wegen Blutdruck", "Jörg Weiß-Öztürk",
                  codes["patient"], codes["practitioner"]):
        assert not any(form_ in stored for form_ in forms(value)), value
    assert browser.csp_violations() == [] and browser.foreign_requests == []
