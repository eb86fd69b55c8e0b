"""Termine as a practice uses it every day: the week calendar in Berlin days, an appointment created, edited and
rescheduled in the browser and decrypted by the SDK (umlauts, ß), consent, re-issued codes, the invitation's
.ics, plan-restricted SMS on basis, and no patient plaintext at rest."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from domain.plans import Feature, feature_refused_message
from interfaces.client import appointments
from interfaces.client.sdk import Client
from tests.api.test_no_plaintext_at_rest import forms, raw_storage
from tests.conftest import PASSWORD, LiveServer, register
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser, listed_by_sdk
from tests.web.test_register_login import SLOW

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")


def german_day(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]}, {day.day}. {MONTHS[day.month - 1]} {day.year}"


def sdk_sees(cli: Client, appointment_id: str, check: Callable[[appointments.Appointment], bool]
             ) -> appointments.Appointment:
    for _ in range(40):
        current = appointments.show(cli, appointment_id)
        if check(current):
            return current
        time.sleep(0.25)
    raise AssertionError("the SDK does not see the change")


def test_week_view_shows_an_sdk_appointment_on_its_berlin_day(new_page: Callable[[], WebPage],
                                                               new_client: Callable[[str], Client]) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    browser = approved_browser(new_page, cli)
    page = browser.page
    day = (datetime.now(BERLIN) + timedelta(days=10)).date()
    # 00:30 in Berlin is the previous day in UTC: the week view must still show it on its Berlin day.
    appointments.add(cli, datetime(day.year, day.month, day.day, 0, 30), 15, "Jörg Weiß-Öztürk")
    listed_by_sdk(cli, day, "Jörg Weiß-Öztürk")

    page.get_by_label("Tag", exact=True).fill(day.isoformat())
    page.get_by_role("button", name="Wochenansicht").click()
    column = page.get_by_role("region", name=german_day(day))
    column.get_by_role("button", name="Jörg Weiß-Öztürk").wait_for(timeout=SLOW)
    assert "00:30" in column.inner_text()
    year, week, _ = day.isocalendar()
    assert page.url.endswith(f"/termine?week={year}-W{week:02d}")  # the API's own week= form
    previous = page.get_by_role("region", name=german_day(day - timedelta(days=1)))
    if previous.count():  # not shown when the day is a Monday
        assert "Jörg" not in previous.inner_text()

    # Keyboard: next week and back, then today.
    page.get_by_role("button", name="Nächste Woche").focus()
    page.keyboard.press("Enter")
    page.get_by_role("region", name=german_day(day + timedelta(days=7))).wait_for()
    page.get_by_role("button", name="Vorherige Woche").click()
    column.get_by_role("button", name="Jörg Weiß-Öztürk").wait_for()
    assert browser.accessibility_problems() == []
    page.get_by_role("button", name="Heute").click()
    page.get_by_role("region", name=german_day(datetime.now(BERLIN).date())).wait_for()


def test_an_appointment_through_its_whole_life_in_the_browser(new_page: Callable[[], WebPage],
                                                               new_client: Callable[[str], Client],
                                                               server: LiveServer, tmp_path: Path) -> None:
    cli = new_client("cli")
    register(cli)
    cli.login("PWinkler", "MartinW", PASSWORD)
    browser = approved_browser(new_page, cli)
    page = browser.page
    day = (datetime.now(BERLIN) + timedelta(days=3)).date()
    later = day + timedelta(days=1)

    page.get_by_label("Tag", exact=True).fill(day.isoformat())
    form = page.get_by_role("form", name="Neuer Termin")
    form.get_by_label("Uhrzeit *").fill("09:15")
    form.get_by_label("Dauer in Minuten *").fill("500")
    form.get_by_label("Name des Patienten *").fill("Erika Müßig")
    form.get_by_role("button", name="Termin anlegen").click()
    assert form.get_by_text("Die Dauer muss 5 bis 480 Minuten betragen.").is_visible()
    form.get_by_label("Dauer in Minuten *").fill("20")
    form.get_by_role("button", name="Termin anlegen").click()
    detail = page.get_by_role("region", name="Termin mit Erika Müßig")
    detail.wait_for(timeout=SLOW)
    appointment_id = listed_by_sdk(cli, day, "Erika Müßig").appointment_id

    # Edit: umlauts and ß, a phone and an e-mail; the SDK opens what the browser sealed.
    detail.get_by_role("button", name="Bearbeiten").click()
    detail.get_by_label("Name des Patienten *").fill("Erika Weißmüller-Großöhr")
    detail.get_by_label("E-Mail").fill("erika@@example")
    detail.get_by_role("button", name="Änderungen speichern").click()
    assert detail.get_by_text("Bitte eine gültige E-Mail-Adresse eingeben.").is_visible()
    detail.get_by_label("E-Mail").fill("erika.gross@example.de")
    detail.get_by_label("Telefon").fill("0171 2345678")
    detail.get_by_label("Notiz").fill("Rückfrage: Blutdruck, Übelkeit")
    detail.get_by_role("button", name="Änderungen speichern").click()
    detail = page.get_by_role("region", name="Termin mit Erika Weißmüller-Großöhr")
    detail.get_by_text("Patientendaten gespeichert.").wait_for()
    edited = sdk_sees(cli, appointment_id, lambda a: a.patient.name == "Erika Weißmüller-Großöhr")
    assert edited.patient.note == "Rückfrage: Blutdruck, Übelkeit" and edited.patient.email == "erika.gross@example.de"
    assert edited.patient.phone == "0171 2345678"

    # Reschedule to the next day, 14:45 Berlin time.
    detail.get_by_role("button", name="Verschieben").click()
    detail.get_by_label("Neues Datum *").fill(later.isoformat())
    detail.get_by_label("Neue Uhrzeit *").fill("14:45")
    detail.get_by_role("button", name="Verschieben").click()
    detail.get_by_text("Termin verschoben.").wait_for()
    assert german_day(later) in detail.inner_text() and "14:45 Uhr" in detail.inner_text()
    moved = sdk_sees(cli, appointment_id, lambda a: a.starts_at.astimezone(BERLIN).date() == later)
    assert moved.starts_at.astimezone(BERLIN).strftime("%H:%M") == "14:45" and moved.duration_minutes == 20
    assert moved.patient.name == "Erika Weißmüller-Großöhr"  # the record came through the move unchanged

    # Both codes in the detail view, as in the record.
    codes = moved.patient.codes
    text = detail.inner_text()
    assert codes["practitioner"] in text and codes["patient"] in text

    # Invitation: mailto text and the .ics, parsed like a calendar program would.
    mailto = detail.get_by_role("link", name="Einladung per E-Mail").get_attribute("href")
    assert mailto.startswith("mailto:erika.gross@example.de?subject=") and codes["patient"] in mailto
    assert "Gro%C3%9F%C3%B6hr" in mailto
    with page.expect_download() as download_info:
        detail.get_by_role("button", name="Kalenderdatei (.ics) herunterladen").click()
    ics_path = tmp_path / "termin.ics"
    download_info.value.save_as(ics_path)
    calendar = icalendar.Calendar.from_ical(ics_path.read_bytes())
    event = next(iter(calendar.walk("VEVENT")))
    start = event.decoded("dtstart")
    assert start.utcoffset() == datetime(later.year, later.month, later.day, 14, 45, tzinfo=BERLIN).utcoffset()
    assert (start.date(), start.strftime("%H:%M")) == (later, "14:45")
    assert str(start.tzinfo) == "Europe/Berlin" or getattr(start.tzinfo, "key", None) == "Europe/Berlin"
    assert str(event["url"]) == f"{server.url}/join" and str(event["location"]) == f"{server.url}/join"
    assert codes["patient"] in str(event["description"]) and "Erika Weißmüller-Großöhr" in str(event["description"])
    sdk_text = appointments.invitation(cli, moved)
    assert str(event["description"]) == sdk_text.body and str(event["summary"]) == "Videosprechstunde – PWinkler"
    assert str(event["uid"]) == f"{appointment_id}@sprechzimmer"

    # Consent.
    detail.get_by_label("Art der Einwilligung").select_option("mündlich")
    detail.get_by_role("button", name="Einwilligung erfassen").click()
    detail.get_by_text("mündlich, erfasst am").wait_for()
    consent = sdk_sees(cli, appointment_id, lambda a: a.consent is not None).consent
    assert consent is not None and consent["method"] == "mündlich"

    # Re-issued codes: new ones in the page and in the record; the edited data stays.
    page.once("dialog", lambda dialog: dialog.accept())
    detail.get_by_role("button", name="Neue Zugangscodes erzeugen").click()
    detail.get_by_text("Neue Zugangscodes erzeugt.").wait_for(timeout=SLOW)
    fresh = sdk_sees(cli, appointment_id, lambda a: a.patient.codes["patient"] != codes["patient"])
    assert fresh.patient.codes["practitioner"] != codes["practitioner"]
    assert fresh.patient.name == "Erika Weißmüller-Großöhr" and fresh.patient.note == "Rückfrage: Blutdruck, Übelkeit"
    assert fresh.patient.codes["patient"] in detail.inner_text() and codes["patient"] not in detail.inner_text()

    # SMS on basis: refused with the plan's message, before anything is sent.
    detail.get_by_role("button", name="SMS-Kosten anzeigen").click()
    detail.get_by_role("alert").filter(has_text=feature_refused_message(Feature.SMS_INVITATION)).wait_for()
    assert detail.get_by_role("button", name="SMS jetzt senden").is_disabled()

    assert browser.accessibility_problems() == []

    stored = raw_storage(server)
    for value in ("Erika Müßig", "Weißmüller", "Großöhr", "erika.gross@example.de", "0171 2345678", "2345678",
                  "Rückfrage: Blutdruck", "Übelkeit", codes["patient"], fresh.patient.codes["patient"],
                  fresh.patient.codes["practitioner"]):
        assert not any(form_ in stored for form_ in forms(value)), value
    assert browser.csp_violations() == [] and browser.foreign_requests == []

    # The marked place for the call screen.
    detail.get_by_role("button", name="Sprechstunde starten").click()
    page.wait_for_url(f"**/sprechstunde/{appointment_id}")
