"""Calendar of appointments (by day and week), pending reminders and SMS usage per month.

Nothing here is personal data in clear: times, status, the end-to-end encrypted record as the client sent
it, the kind of consent, and counts. Rebuildable from the events like every read model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID

from application.ports import CalendarEntry, DueReminder
from application.retention import Pruned, Retention
from domain.appointment import Appointment
from infrastructure.sql import Cursor, Database
from projections.runner import handled_topics


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


class AppointmentCalendar:
    name = "appointments"
    # table -> organisation column
    tables: ClassVar[dict[str, str]] = {"rm_appointments": "org_id", "rm_sms_usage": "org_id"}
    # A past appointment (its time, its consent's time, its reminder) leaves the calendar three months after its
    # start; the SMS counts of a month go once the cutoff reaches it (billing counts its SMS in rm_usage).
    retention: ClassVar[dict[str, Retention]] = {"rm_appointments": Pruned("starts_ts"),
                                                 "rm_sms_usage": Pruned("month", unit="month")}

    def schema(self) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS rm_appointments (appointment_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
            "starts_ts BIGINT NOT NULL, duration INTEGER NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL, "
            "consent TEXT, reminder_id TEXT, minutes_before INTEGER, remind_ts BIGINT)",
            "CREATE INDEX IF NOT EXISTS rm_appointments_org_start ON rm_appointments (org_id, starts_ts)",
            "CREATE INDEX IF NOT EXISTS rm_appointments_remind ON rm_appointments (remind_ts)",
            "CREATE TABLE IF NOT EXISTS rm_sms_usage (org_id TEXT NOT NULL, month TEXT NOT NULL, "
            "count INTEGER NOT NULL, PRIMARY KEY (org_id, month))",
        ]

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    @apply.register
    def _(self, event: Appointment.Scheduled, cur: Cursor) -> None:
        cur.execute("INSERT INTO rm_appointments (appointment_id, org_id, starts_ts, duration, status, record) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (str(event.originator_id), str(event.org_id), _ts(event.starts_at), event.duration_minutes,
                     "scheduled", json.dumps(event.record)))

    @apply.register
    def _(self, event: Appointment.Rescheduled, cur: Cursor) -> None:
        starts = _ts(event.starts_at)
        cur.execute("UPDATE rm_appointments SET starts_ts = %s, duration = %s, "
                    "remind_ts = CASE WHEN reminder_id IS NULL THEN NULL ELSE %s - 60 * minutes_before END "
                    "WHERE appointment_id = %s", (starts, event.duration_minutes, starts, str(event.originator_id)))

    @apply.register
    def _(self, event: Appointment.Cancelled, cur: Cursor) -> None:
        cur.execute("UPDATE rm_appointments SET status = 'cancelled', reminder_id = NULL, minutes_before = NULL, "
                    "remind_ts = NULL WHERE appointment_id = %s", (str(event.originator_id),))

    @apply.register
    def _(self, event: Appointment.ConsentRecorded, cur: Cursor) -> None:
        consent = {"given_at": event.given_at.isoformat(), "method": event.method}
        cur.execute("UPDATE rm_appointments SET consent = %s WHERE appointment_id = %s",
                    (json.dumps(consent), str(event.originator_id)))

    @apply.register
    def _(self, event: Appointment.CodesReissued, cur: Cursor) -> None:
        cur.execute("UPDATE rm_appointments SET record = %s WHERE appointment_id = %s",
                    (json.dumps(event.record), str(event.originator_id)))

    @apply.register
    def _(self, event: Appointment.RecordChanged, cur: Cursor) -> None:
        cur.execute("UPDATE rm_appointments SET record = %s WHERE appointment_id = %s",
                    (json.dumps(event.record), str(event.originator_id)))

    @apply.register
    def _(self, event: Appointment.ReminderRequested, cur: Cursor) -> None:
        cur.execute("UPDATE rm_appointments SET reminder_id = %s, minutes_before = %s, "
                    "remind_ts = starts_ts - 60 * %s WHERE appointment_id = %s",
                    (event.reminder_id, event.minutes_before, event.minutes_before, str(event.originator_id)))

    @apply.register
    def _(self, event: Appointment.ReminderSent, cur: Cursor) -> None:
        self._clear_reminder(event.originator_id, event.reminder_id, cur)

    @apply.register
    def _(self, event: Appointment.ReminderDropped, cur: Cursor) -> None:
        self._clear_reminder(event.originator_id, event.reminder_id, cur)

    @staticmethod
    def _clear_reminder(appointment_id: UUID, reminder_id: str, cur: Cursor) -> None:
        cur.execute("UPDATE rm_appointments SET reminder_id = NULL, minutes_before = NULL, remind_ts = NULL "
                    "WHERE appointment_id = %s AND reminder_id = %s", (str(appointment_id), reminder_id))

    @apply.register
    def _(self, event: Appointment.SmsSent, cur: Cursor) -> None:
        cur.execute("INSERT INTO rm_sms_usage (org_id, month, count) VALUES (%s, %s, %s) "
                    "ON CONFLICT (org_id, month) DO UPDATE SET count = rm_sms_usage.count + EXCLUDED.count",
                    (str(event.org_id), event.month, int(getattr(event, "segments", 1))))

    topics = handled_topics(apply)  # the events it applies; no other is decoded for it


class AppointmentQueries:
    """application.ports.AppointmentViews over the tables above."""

    def __init__(self, db: Database):
        self.db = db

    def between(self, org_id: UUID, start: datetime, end: datetime, limit: int,
                offset: int) -> tuple[list[CalendarEntry], int]:
        params = (str(org_id), _ts(start), _ts(end))
        where = "WHERE org_id = %s AND starts_ts >= %s AND starts_ts < %s"
        with self.db.transaction() as cur:
            total = int(cur.execute("SELECT COUNT(*) FROM rm_appointments " + where, params).fetchone()[0])
            rows = cur.execute(
                "SELECT appointment_id, starts_ts, duration, status, record, consent, reminder_id "
                "FROM rm_appointments " + where + " ORDER BY starts_ts, appointment_id LIMIT %s OFFSET %s",
                (*params, limit, offset)).fetchall()
        entries = []
        for appointment_id, starts_ts, duration, status, record, consent, reminder_id in rows:
            starts = datetime.fromtimestamp(int(starts_ts), UTC)
            entries.append(CalendarEntry(UUID(appointment_id), starts, starts + timedelta(minutes=int(duration)),
                                         status, json.loads(record), json.loads(consent) if consent else None,
                                         reminder_id is not None))
        return entries, total

    def due_reminders(self, now: datetime, limit: int = 100) -> list[DueReminder]:
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT org_id, appointment_id, reminder_id FROM rm_appointments "
                               "WHERE remind_ts IS NOT NULL AND remind_ts <= %s ORDER BY remind_ts LIMIT %s",
                               (_ts(now), limit)).fetchall()
        return [DueReminder(UUID(org_id), UUID(appointment_id), reminder_id)
                for org_id, appointment_id, reminder_id in rows]

    def sms_count(self, org_id: UUID, month: str) -> int:
        with self.db.transaction() as cur:
            row = cur.execute("SELECT count FROM rm_sms_usage WHERE org_id = %s AND month = %s",
                              (str(org_id), month)).fetchone()
        return int(row[0]) if row else 0
