"""Exactly once where patients notice: an SMS reminder the gateway accepted is not sent again when the job
crashed before recording it — even through a gateway that ignores `Idempotency-Key` (like this test's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.appointment import Appointment
from interfaces.client import appointments as ap
from interfaces.client.sdk import Client
from tests.appointments.conftest import SmsGatewayServer
from tests.appointments.test_invitations_and_reminders import NUMBER, START, _sms_count
from tests.conftest import Clock, LiveServer


def test_a_reminder_accepted_by_the_gateway_is_not_sent_again_after_a_crash(
        server: LiveServer, practice: Callable[..., Client], clock: Clock, sms_gateway: SmsGatewayServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set(START - timedelta(days=1))
    client = practice("plus")
    appointment = ap.add(client, START, 30, "Jörg Böhm", phone=NUMBER)
    ap.request_reminder(client, appointment.appointment_id, minutes_before=60)
    clock.set(START - timedelta(minutes=59))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash after the gateway accepted the SMS")

    with monkeypatch.context() as patch:  # the process dies before the ReminderSent event is saved
        patch.setattr(Appointment, "reminder_sent", crash)
        assert server.container.scheduler.run_all_once()["appointment-reminders"] == 0
    assert len(sms_gateway.received) == 1

    assert server.container.scheduler.run_all_once()["appointment-reminders"] == 1  # the rerun records it …
    assert len(sms_gateway.received) == 1  # … without a second SMS to the patient
    assert _sms_count(server, "2026-12") == 1
