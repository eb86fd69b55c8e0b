"""The appointment (Termin) and the claims that make its access-code tags unique.

The server sees only what it needs: the time (for the code window and the reminder) and ciphertext. The
patient record — name, contact, note and the access codes — is end-to-end encrypted by the practice client
(design/crypto.md §4.9); the server keeps only keyed tags of the codes' join tokens (§4.10a).

A conference (plan plus) carries up to two further participant codes, each its own tag in its own slot
("patient-2", "patient-3"); every patient slot joins a call in the role "patient". The slot names are the keys
of `code_tags` and the `role` of an AccessCodeTag claim, so events written before conferences load unchanged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.base import Conflict, DomainError, OrgAggregate, global_id

ROLES = ("practitioner", "patient")
EXTRA_PATIENT_SLOTS = ("patient-2", "patient-3")  # further participants of a conference (plan plus)
CODE_SLOTS = (*ROLES, *EXTRA_PATIENT_SLOTS)
CONSENT_METHODS = ("schriftlich", "elektronisch", "mündlich")  # as the practice records it
PATIENT_PAGE = "Teilnahmeseite"  # given by the patient on the patient page, with the access code
SCHEDULED, CANCELLED = "scheduled", "cancelled"
MIN_DURATION, MAX_DURATION = 5, 480
CODES_VALID_BEFORE = timedelta(minutes=30)  # a code opens 30 minutes before the start …
CODES_VALID_AFTER = timedelta(minutes=60)  # … and closes 60 minutes after the end (§4.10)
RECORD_FIELDS = ("kver", "wrapped_dek", "ciphertext", "schema")

MSG_CANCELLED = "Der Termin ist abgesagt."


def access_window(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """When a code admits its holder (design/crypto.md §8a.5): from 30 minutes before the start until 60 minutes
    after the end. The one definition for the code check, the ICE servers and the signalling socket, so a
    patient who arrives early is let into the waiting room instead of being told the code is invalid."""
    return starts_at - CODES_VALID_BEFORE, ends_at + CODES_VALID_AFTER


def within_access_window(starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    opens, closes = access_window(starts_at, ends_at)
    return opens <= now <= closes


def check_time(starts_at: datetime, duration_minutes: int) -> None:
    if starts_at.tzinfo is None or starts_at.utcoffset() is None:
        raise DomainError("Bitte die Uhrzeit mit Zeitzone angeben.", "starts_at")
    if not MIN_DURATION <= duration_minutes <= MAX_DURATION:
        raise DomainError(f"Die Dauer muss {MIN_DURATION} bis {MAX_DURATION} Minuten betragen.", "duration_minutes")


def check_record(record: dict[str, Any]) -> None:
    """Only the shape: the content is ciphertext the server cannot (and must not) check."""
    if sorted(record) != sorted(RECORD_FIELDS):
        raise DomainError("Der verschlüsselte Datensatz ist unvollständig.", "record")


def role_of_slot(slot: str) -> str:
    """The call role a code slot stands for: every patient slot of a conference joins as "patient"."""
    return "patient" if slot == "patient" or slot in EXTRA_PATIENT_SLOTS else slot


def check_tags(code_tags: dict[str, str]) -> None:
    """Practitioner and patient always; further participants only in order (patient-2 before patient-3),
    and every code different from all others. The plan's participant limit is checked by the caller."""
    if not set(ROLES) <= set(code_tags):
        raise DomainError("Zwei verschiedene Zugangscodes (Behandler, Patient) werden benötigt.", "join_tokens")
    if set(code_tags) != set(CODE_SLOTS[:len(code_tags)]):
        raise DomainError("Weitere Teilnehmende bitte der Reihe nach angeben (patient-2, dann patient-3).",
                          "join_tokens")
    if len(set(code_tags.values())) != len(code_tags):
        raise DomainError("Alle Zugangscodes eines Termins müssen verschieden sein.", "join_tokens")


class Appointment(OrgAggregate):
    TOPIC = "sprechzimmer.Appointment"

    class Event(OrgAggregate.Event):
        TOPIC = "sprechzimmer.Appointment.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "sprechzimmer.Appointment.Created"

    class Scheduled(Created):
        TOPIC = "sprechzimmer.Appointment.Scheduled"
        starts_at: datetime
        duration_minutes: int
        record: dict[str, Any]
        code_tags: dict[str, str]

    class Rescheduled(Event):
        TOPIC = "sprechzimmer.Appointment.Rescheduled"
        starts_at: datetime
        duration_minutes: int

        def apply(self, appointment: Appointment) -> None:
            appointment.starts_at = self.starts_at
            appointment.duration_minutes = self.duration_minutes

    class Cancelled(Event):
        """Absage: all codes stop working at once; a pending reminder is dropped."""

        TOPIC = "sprechzimmer.Appointment.Cancelled"

        def apply(self, appointment: Appointment) -> None:
            appointment.status = CANCELLED
            appointment.code_tags = {}
            appointment.reminder = None

    class ConsentRecorded(Event):
        """Einwilligung (Art. 9 DSGVO): when and how the patient consented, no content."""

        TOPIC = "sprechzimmer.Appointment.ConsentRecorded"
        given_at: datetime
        method: str

        def apply(self, appointment: Appointment) -> None:
            appointment.consent = {"given_at": self.given_at, "method": self.method}

    class CodesReissued(Event):
        """New codes: the record (which holds them) is re-encrypted, the old tags are revoked."""

        TOPIC = "sprechzimmer.Appointment.CodesReissued"
        record: dict[str, Any]
        code_tags: dict[str, str]

        def apply(self, appointment: Appointment) -> None:
            appointment.record = self.record
            appointment.code_tags = self.code_tags
            appointment.codes_version += 1

    class RecordChanged(Event):
        """The practice edited the patient data (re-encrypted on its client; the codes inside stay)."""

        TOPIC = "sprechzimmer.Appointment.RecordChanged"
        record: dict[str, Any]

        def apply(self, appointment: Appointment) -> None:
            appointment.record = self.record

    class ReminderRequested(Event):
        """Opt-in reminder SMS. The number is not here: it waits encrypted outside the history."""

        TOPIC = "sprechzimmer.Appointment.ReminderRequested"
        reminder_id: str
        minutes_before: int

        def apply(self, appointment: Appointment) -> None:
            appointment.reminder = {"reminder_id": self.reminder_id, "minutes_before": self.minutes_before}

    class ReminderSent(Event):
        TOPIC = "sprechzimmer.Appointment.ReminderSent"
        reminder_id: str

        def apply(self, appointment: Appointment) -> None:
            appointment.reminder = None
            appointment.reminders_done.append(self.reminder_id)

    class ReminderDropped(Event):
        TOPIC = "sprechzimmer.Appointment.ReminderDropped"
        reminder_id: str
        reason: str

        def apply(self, appointment: Appointment) -> None:
            appointment.reminder = None
            appointment.reminders_done.append(self.reminder_id)

    class SmsSent(Event):
        """One SMS for billing (0,10 EUR in plus), counted per month; never the number or the text."""

        TOPIC = "sprechzimmer.Appointment.SmsSent"
        purpose: str  # "invitation" | "reminder"
        key: str  # idempotency key: the same invitation is never sent or charged twice
        month: str  # YYYY-MM
        segments: int = 1  # billed per segment as the provider counts them (domain/sms.py); 1 before v1.1

        def apply(self, appointment: Appointment) -> None:
            appointment.sms_keys.append(self.key)

    def __init__(self, org_id: UUID, starts_at: datetime, duration_minutes: int, record: dict[str, Any],
                 code_tags: dict[str, str]):
        self.org_id = org_id
        self.starts_at = starts_at
        self.duration_minutes = duration_minutes
        self.record = record
        self.code_tags = code_tags
        self.codes_version = 1
        self.status = SCHEDULED
        self.consent: dict[str, Any] | None = None
        self.reminder: dict[str, Any] | None = None
        self.reminders_done: list[str] = []
        self.sms_keys: list[str] = []

    # --- commands ----------------------------------------------------------------------------------

    @classmethod
    def schedule(cls, appointment_id: UUID, org_id: UUID, starts_at: datetime, duration_minutes: int,
                 record: dict[str, Any], code_tags: dict[str, str]) -> Appointment:
        check_time(starts_at, duration_minutes)
        check_record(record)
        check_tags(code_tags)
        return cls._create(cls.Scheduled, id=appointment_id, org_id=org_id, starts_at=starts_at,
                           duration_minutes=duration_minutes, record=record, code_tags=code_tags)

    def _require_scheduled(self) -> None:
        if self.status != SCHEDULED:
            raise Conflict(MSG_CANCELLED, "status")

    def reschedule(self, starts_at: datetime, duration_minutes: int) -> None:
        self._require_scheduled()
        check_time(starts_at, duration_minutes)
        self.trigger_event(self.Rescheduled, starts_at=starts_at, duration_minutes=duration_minutes)

    def cancel(self) -> None:
        self._require_scheduled()
        self.trigger_event(self.Cancelled)

    def record_consent(self, given_at: datetime, method: str) -> None:
        self._require_scheduled()
        if method not in CONSENT_METHODS:
            raise DomainError("Bitte eine Art der Einwilligung wählen: " + ", ".join(CONSENT_METHODS) + ".",
                              "method")
        if given_at.tzinfo is None:
            raise DomainError("Bitte die Uhrzeit mit Zeitzone angeben.", "given_at")
        self.trigger_event(self.ConsentRecorded, given_at=given_at, method=method)

    def record_patient_consent(self, given_at: datetime) -> None:
        self._require_scheduled()
        self.trigger_event(self.ConsentRecorded, given_at=given_at, method=PATIENT_PAGE)

    def reissue_codes(self, record: dict[str, Any], code_tags: dict[str, str]) -> None:
        self._require_scheduled()
        check_record(record)
        check_tags(code_tags)
        if set(code_tags.values()) & set(self.code_tags.values()):
            raise DomainError("Die neuen Zugangscodes müssen sich von den bisherigen unterscheiden.", "join_tokens")
        self.trigger_event(self.CodesReissued, record=record, code_tags=code_tags)

    def change_record(self, record: dict[str, Any]) -> None:
        self._require_scheduled()
        check_record(record)
        self.trigger_event(self.RecordChanged, record=record)

    def request_reminder(self, reminder_id: str, minutes_before: int, now: datetime) -> None:
        self._require_scheduled()
        if not 15 <= minutes_before <= 2880:
            raise DomainError("Die Erinnerung ist 15 Minuten bis 2 Tage vor dem Termin möglich.", "minutes_before")
        if now >= self.starts_at:
            raise Conflict("Der Termin hat bereits begonnen.", "starts_at")
        self.trigger_event(self.ReminderRequested, reminder_id=reminder_id, minutes_before=minutes_before)

    def reminder_sent(self, reminder_id: str, month: str, segments: int = 1) -> None:
        if not self.reminder or self.reminder["reminder_id"] != reminder_id:
            raise Conflict("Diese Erinnerung ist nicht mehr vorgesehen.", "reminder")
        self.trigger_event(self.ReminderSent, reminder_id=reminder_id)
        self.trigger_event(self.SmsSent, purpose="reminder", key=f"reminder/{reminder_id}", month=month,
                           segments=segments)

    def drop_reminder(self, reminder_id: str, reason: str) -> None:
        if self.reminder and self.reminder["reminder_id"] == reminder_id:
            self.trigger_event(self.ReminderDropped, reminder_id=reminder_id, reason=reason)

    def sms_invitation_sent(self, key: str, month: str, segments: int = 1) -> None:
        if key in self.sms_keys:
            raise Conflict("Diese Einladung wurde bereits versandt.", "invitation_id")
        self.trigger_event(self.SmsSent, purpose="invitation", key=key, month=month, segments=segments)

    # --- queries -----------------------------------------------------------------------------------

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED

    def role_of(self, tag: str) -> str | None:
        """The code slot a tag currently stands for ("practitioner", "patient", "patient-2", …); revoked and
        foreign tags stand for none. `role_of_slot` turns the slot into the call role."""
        for role, current in self.code_tags.items():
            if current == tag:
                return role
        return None

    def codes_valid_at(self, now: datetime) -> bool:
        return self.status == SCHEDULED and within_access_window(self.starts_at, self.ends_at, now)

    @property
    def seats(self) -> int:
        """Seats of its call: one per code (practitioner + 1, or + up to 3 in a conference; §8a.6)."""
        return len(self.code_tags)

    @property
    def reminder_due_at(self) -> datetime | None:
        if self.reminder is None:
            return None
        return self.starts_at - timedelta(minutes=int(self.reminder["minutes_before"]))


class AccessCodeTag(OrgAggregate):
    """Claims one access-code tag service-wide. Its id is derived from the tag, so a second appointment with
    the same tag collides in the event store itself; the appointment decides whether the tag is still valid."""

    TOPIC = "sprechzimmer.AccessCodeTag"

    class Event(OrgAggregate.Event):
        TOPIC = "sprechzimmer.AccessCodeTag.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "sprechzimmer.AccessCodeTag.Created"

    class Claimed(Created):
        TOPIC = "sprechzimmer.AccessCodeTag.Claimed"
        appointment_id: UUID
        role: str  # the code slot: "practitioner", "patient", or a conference's "patient-2"/"patient-3"

    def __init__(self, org_id: UUID, appointment_id: UUID, role: str):
        self.org_id = org_id
        self.appointment_id = appointment_id
        self.role = role

    @staticmethod
    def id_for(tag: str) -> UUID:
        return global_id("access-code-tags", tag)

    @classmethod
    def claim(cls, tag: str, org_id: UUID, appointment_id: UUID, role: str) -> AccessCodeTag:
        return cls._create(cls.Claimed, id=cls.id_for(tag), org_id=org_id, appointment_id=appointment_id, role=role)
