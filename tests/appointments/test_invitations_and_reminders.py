"""Invitations composed by the client (text, mailto:, .ics), SMS invitations through a real local gateway
(plan plus only, counted, never sent or charged twice), and reminders that survive a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

import icalendar
import pytest

from application import billing
from interfaces.client import appointments as ap
from interfaces.client.sdk import ApiError, Client
from tests.appointments.conftest import SmsGatewayServer
from tests.conftest import PASSWORD, Clock, LiveServer

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
NUMBER, E164 = "0151 23456789", "+4915123456789"


def _sms_count(server: LiveServer, month: str = "2026-11", org: str = "PWinkler") -> int:
    """SMS counted for the practice; the appointments view and the billing count must agree."""
    services = server.container.services
    organisation = services.events.organisation_by_short_name(org)
    assert organisation is not None and services.appointment_views is not None
    counted = services.appointment_views.sms_count(organisation.org_id, month)
    assert billing.sms_count(services, organisation.org_id, month) == counted  # what the invoice will charge
    return counted


def test_invitation_text_mailto_and_ics(server: LiveServer, practice: Callable[..., Client], clock: Clock) -> None:
    clock.set(START - timedelta(days=1))
    client = practice()
    appointment = ap.add(client, START, 45, "Jörg Böhm", email="joerg.boehm@example.org")
    invitation = ap.invitation(client, appointment, practice="Praxis Winkler")
    code = appointment.patient.codes["patient"]
    join = f"{server.url}/join"
    assert code in invitation.body and join in invitation.body and "01.12.2026 um 10:00 Uhr" in invitation.body
    assert appointment.patient.codes["practitioner"] not in invitation.body

    link = urlparse(invitation.mailto)
    assert link.scheme == "mailto" and unquote(link.path) == "joerg.boehm@example.org"
    query = parse_qs(link.query)
    assert query["subject"] == [invitation.subject]
    assert query["body"][0].replace("\r\n", "\n") == invitation.body

    calendar = icalendar.Calendar.from_ical(invitation.ics)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == START and end == START + timedelta(minutes=45)
    assert start.replace(tzinfo=None) == datetime(2026, 12, 1, 10, 0)  # wall-clock time in Berlin
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert str(start.tzinfo) == "Europe/Berlin" or start.tzinfo == ZoneInfo("Europe/Berlin")
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert code in str(event["DESCRIPTION"]) and str(event["LOCATION"]) == join


def test_sms_invitation_needs_plan_plus(server: LiveServer, practice: Callable[..., Client], clock: Clock,
                                        sms_gateway: SmsGatewayServer) -> None:
    clock.set(START - timedelta(days=1))
    client = practice("basis")
    appointment = ap.add(client, START, 30, "Jörg Böhm", phone=NUMBER)
    for call in (lambda: ap.send_sms_invitation(client, appointment.appointment_id),
                 lambda: ap.request_reminder(client, appointment.appointment_id)):
        with pytest.raises(ApiError) as err:
            call()
        assert err.value.status == 403
        assert err.value.detail == "Die Einladung per SMS ist nur im Tarif plus enthalten."
    assert sms_gateway.received == []


def test_sms_invitation_is_sent_once_counted_and_never_charged_on_failure(
        server: LiveServer, practice: Callable[..., Client], clock: Clock, sms_gateway: SmsGatewayServer) -> None:
    clock.set(START - timedelta(days=1))
    client = practice("plus")
    appointment = ap.add(client, START, 30, "Jörg Böhm", phone=NUMBER)
    code = appointment.patient.codes["patient"]

    ap.send_sms_invitation(client, appointment.appointment_id, invitation_id="6f1c1a52-8f3e-4c59-9d59-1d1b6c0e9a01")
    [sent] = sms_gateway.received
    assert sent["body"]["to"] == E164 and sent["authorization"] == "Bearer test-token"
    assert code in sent["body"]["text"] and "01.12.2026 um 10:00 Uhr" in sent["body"]["text"]
    assert sent["body"]["text"].startswith("Praxis Winkler:") and f"{server.url}/join" in sent["body"]["text"]
    assert sent["idempotency_key"].endswith("6f1c1a52-8f3e-4c59-9d59-1d1b6c0e9a01")
    assert _sms_count(server) == 1

    # The client retries the same invitation (say, after a timeout): no second SMS, no second charge.
    ap.send_sms_invitation(client, appointment.appointment_id, invitation_id="6f1c1a52-8f3e-4c59-9d59-1d1b6c0e9a01")
    assert len(sms_gateway.received) == 1 and _sms_count(server) == 1

    sms_gateway.failing = True
    with pytest.raises(ApiError) as err:
        ap.send_sms_invitation(client, appointment.appointment_id, invitation_id="0b7e3a7c-2f43-4d7e-9b0e-5f6a7b8c9d0e")
    assert err.value.status == 502 and "nicht berechnet" in err.value.detail
    assert len(sms_gateway.received) == 1 and _sms_count(server) == 1

    sms_gateway.failing = False
    ap.send_sms_invitation(client, appointment.appointment_id, invitation_id="0b7e3a7c-2f43-4d7e-9b0e-5f6a7b8c9d0e")
    assert len(sms_gateway.received) == 2 and _sms_count(server) == 2

    with pytest.raises(ApiError) as err:  # only this appointment's patient code may travel by SMS
        client.request("POST", f"/api/v1/appointments/{appointment.appointment_id}/sms-invitations",
                       {"invitation_id": "1b7e3a7c-2f43-4d7e-9b0e-5f6a7b8c9d0e", "phone": NUMBER,
                        "patient_code": appointment.patient.codes["practitioner"]}, auth=True)
    assert err.value.status == 400 and "patient_code" in err.value.errors
    with pytest.raises(ApiError) as err:
        client.request("POST", f"/api/v1/appointments/{appointment.appointment_id}/sms-invitations",
                       {"invitation_id": "2b7e3a7c-2f43-4d7e-9b0e-5f6a7b8c9d0e", "phone": "abc",
                        "patient_code": code}, auth=True)
    assert err.value.status == 400 and "phone" in err.value.errors
    assert len(sms_gateway.received) == 2


def _reminder_rows(server: LiveServer) -> list[tuple[str, str]]:
    with server.container.state_db.transaction() as cur:
        return [tuple(r) for r in cur.execute("SELECT reminder_id, ciphertext FROM reminder_numbers").fetchall()]


def test_reminder_scheduled_before_a_restart_is_sent_exactly_once(
        server: LiveServer, practice: Callable[..., Client], clock: Clock, sms_gateway: SmsGatewayServer) -> None:
    clock.set(START - timedelta(days=1))
    client = practice("plus")
    appointment = ap.add(client, START, 30, "Jörg Böhm", phone=NUMBER)
    shown = ap.request_reminder(client, appointment.appointment_id, minutes_before=60)
    assert shown.reminder["minutes_before"] == 60
    cancelled = ap.add(client, START, 30, "Erika Mustermann", phone="0170 9876543")
    ap.request_reminder(client, cancelled.appointment_id, minutes_before=60)
    [(_, ciphertext), _] = _reminder_rows(server)
    assert E164.encode().hex() not in ciphertext and "23456789" not in bytes.fromhex(ciphertext).decode("latin-1")
    ap.cancel(client, cancelled.appointment_id)
    assert len(_reminder_rows(server)) == 1  # a cancelled appointment's number is deleted at once

    clock.set(START - timedelta(minutes=61))
    assert server.container.scheduler.run_all_once()["appointment-reminders"] == 0  # not yet due
    server.__exit__(None, None, None)  # restart: a new process would build everything anew

    with LiveServer(server.settings, clock) as restarted:
        clock.set(START - timedelta(minutes=59))
        assert restarted.container.scheduler.run_all_once()["appointment-reminders"] == 1
        [sent] = sms_gateway.received
        assert sent["body"]["to"] == E164 and "01.12.2026 um 10:00 Uhr" in sent["body"]["text"]
        assert sent["idempotency_key"].startswith("reminder/")
        assert _reminder_rows(restarted) == []  # the number is gone once the reminder went out
        clock.advance(minutes=5)
        restarted.container.scheduler.run_all_once()
        assert len(sms_gateway.received) == 1
        assert _sms_count(restarted, "2026-12") == 1  # the reminder is billed like every SMS, in its month

        client.login("PWinkler", "MartinW", PASSWORD)
        assert ap.show(client, appointment.appointment_id).reminder is None
    with LiveServer(server.settings, clock) as again:  # and after yet another restart
        again.container.scheduler.run_all_once()
        assert len(sms_gateway.received) == 1


def test_failed_reminder_is_retried_and_late_one_dropped(server: LiveServer, practice: Callable[..., Client],
                                                         clock: Clock, sms_gateway: SmsGatewayServer) -> None:
    clock.set(START - timedelta(days=1))
    client = practice("plus")
    appointment = ap.add(client, START, 30, "Jörg Böhm", phone=NUMBER)
    ap.request_reminder(client, appointment.appointment_id, minutes_before=30)
    clock.set(START - timedelta(minutes=20))
    sms_gateway.failing = True
    assert server.container.scheduler.run_all_once()["appointment-reminders"] == 0
    assert len(_reminder_rows(server)) == 1 and _sms_count(server) == 0  # kept for the retry, not charged
    sms_gateway.failing = False
    clock.set(START + timedelta(minutes=1))  # too late now: dropped, number deleted, nothing sent
    assert server.container.scheduler.run_all_once()["appointment-reminders"] == 0
    assert sms_gateway.received == [] and _reminder_rows(server) == []


def test_sms_are_counted_and_billed_per_segment_and_shown_before_sending(
        server: LiveServer, new_client: Callable[[str], Client], clock: Clock, sms_gateway: SmsGatewayServer) -> None:
    """Issue 9.8: the default invitation fits one GSM-7 segment; a practice name without GSM-7 look-alikes
    makes it UCS-2 and several segments — previewed, sent and billed as exactly that many."""
    from tests.appointments.conftest import PLUS_BILLING
    from tests.conftest import register

    clock.set(START - timedelta(days=1))
    client = new_client("praxis")
    register(client, plan="plus", billing=PLUS_BILLING, organisation__name="Praxis „Am Markt“ – Dr. Jäger")
    client.login("PWinkler", "MartinW", PASSWORD)
    appointment = ap.add(client, START, 30, "Jörg Böhm", phone=NUMBER)
    preview = ap.send_sms_invitation(client, appointment.appointment_id, preview=True).sms
    assert preview == {"encoding": "GSM-7", "characters": preview["characters"], "segments": 1, "price_eur": "0.10"}
    assert sms_gateway.received == [] and _sms_count(server) == 0  # a preview sends and bills nothing
    sent = ap.send_sms_invitation(client, appointment.appointment_id).sms
    [received] = sms_gateway.received
    assert received["body"]["text"].startswith('Praxis "Am Markt" - Dr. Jäger: Videosprechstunde am 01.12.2026')
    assert sent == preview and len(received["body"]["text"]) == preview["characters"] and _sms_count(server) == 1

    other = new_client("sonnenschein")  # ☀ has no GSM-7 look-alike: the whole SMS is UCS-2
    register(other, plan="plus", billing=PLUS_BILLING, organisation__name="Praxis ☀ Sonnenschein",
             credentials__org_short="Sonnenschein")
    other.login("Sonnenschein", "MartinW", PASSWORD)
    appointment = ap.add(other, START, 30, "Jörg Böhm", phone=NUMBER)
    preview = ap.send_sms_invitation(other, appointment.appointment_id, preview=True).sms
    assert preview["encoding"] == "UCS-2" and preview["segments"] == 3 and preview["price_eur"] == "0.30"
    ap.send_sms_invitation(other, appointment.appointment_id)
    assert len(sms_gateway.received) == 2 and _sms_count(server, org="Sonnenschein") == 3
