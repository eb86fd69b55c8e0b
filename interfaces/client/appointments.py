"""The practice client's side of the Terminverwaltung (design/crypto.md §2.3, §4.9, §4.10a, §8 decision 3).

Everything about the patient — name, e-mail, phone, note and the access codes — is encrypted here, under a
fresh per-record key (DEK) wrapped with the organisation's newest data key, and bound by the AAD to the
organisation and the appointment: a record moved to another appointment no longer opens. The server gets
times, ciphertext and the codes' join tokens only. Invitations (text, mailto: link, .ics) are composed here,
so the patient's e-mail address never reaches the server.

Conferences (plan plus): up to two further participant codes ("patient-2", "patient-3"), and a separate random
call code from which every party derives k_call (§4.10a). The call code lives only inside the encrypted record
and the invitations; the server sees neither it nor any token of it. A 1:1 appointment has no call code: k_call
derives from the patient code, as before."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import icalendar

from sprechzimmer_protocol.codes import new_code
from sprechzimmer_protocol.records import RecordEnvelope

from .sdk import CODE_SECRETS, ApiError, Client, Keyring, LoggedIn, TamperingDetected

BERLIN = ZoneInfo("Europe/Berlin")
T = TypeVar("T")
STALE_KEYRING = "/problems/stale-keyring"  # the problem type of a write sealed under an older keyring
SCHEMA = 1
FIELD = "patient"
ROLES = ("practitioner", "patient")
EXTRA_PATIENT_SLOTS = ("patient-2", "patient-3")
MAX_PARTICIPANTS = 1 + len(EXTRA_PATIENT_SLOTS)  # patients per appointment; the plan may allow fewer
MSG_CODE_UNKNOWN = "Zugangscode unbekannt."
MSG_PARTICIPANTS = f"Bitte 1 bis {MAX_PARTICIPANTS} Teilnehmende (ohne Behandler) angeben."
MSG_NO_PARTICIPANT = "Diesen Teilnehmenden gibt es in diesem Termin nicht."
MSG_SMS_CONFERENCE = ("Konferenz-Einladungen bitte per E-Mail oder persönlich übergeben: Der Konferenzcode darf "
                      "nicht über den Server laufen.")
MSG_RECORD_TAMPERED = ("Die verschlüsselten Patientendaten dieses Termins sind nicht echt oder gehören zu einem "
                       "anderen Termin. Vorgang abgebrochen.")
MSG_FORK = ("Sicherheitswarnung: Diese Patientendaten wurden nach der letzten Schlüsselerneuerung noch mit einem "
            "älteren Schlüsselbund verschlüsselt. Der Server zeigt womöglich verschiedenen Geräten verschiedene "
            "Stände. Bitte die Geräteliste prüfen und den Betreiber informieren.")
FORK_TOLERANCE = timedelta(minutes=5)  # clocks of practice devices differ a little
MSG_NEWER_SCHEMA = ("Dieser Termin wurde mit einer neueren Version von Sprechzimmer gespeichert. Bitte das Programm "
                    "aktualisieren.")
SMS_NOTICE = ("Hinweis: Bei einer Einladung per SMS gelangen Telefonnummer und Zugangscode des Patienten einmal "
              "über den Server zum SMS-Anbieter. Sie werden nicht gespeichert; der Schutz des Gesprächs gegenüber "
              "dem Server beruht für diesen Termin darauf, dass er den Code vergisst.")


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


RECORD_TYPES: dict[str, Callable[[Any], bool]] = {
    "name": lambda v: isinstance(v, str), "email": _text_or_none, "phone": _text_or_none, "note": _text_or_none,
    "codes": lambda v: isinstance(v, dict) and all(isinstance(k, str) and isinstance(c, str) for k, c in v.items()),
    "call_code": _text_or_none, "sealed_at": _text_or_none,
}


@dataclass
class PatientRecord:
    name: str
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    codes: dict[str, str] = field(default_factory=dict)  # slot -> code "XXXX-XXXX-XXXX"
    call_code: str | None = None  # conferences only: the shared secret k_call derives from (never sent)
    sealed_at: str | None = None  # when a client last sealed it (UTC, its own clock): fork detection (§8a.11)
    # Keys written by a newer client that this one does not know: kept unchanged on every re-encryption (§8a.3).
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        known = {name: getattr(self, name) for name in RECORD_TYPES}
        return {**self.extra, **known}

    @classmethod
    def from_json(cls, data: Any) -> PatientRecord:
        """Tolerant reader (§8a.3): unknown keys are kept, known keys must have their types (else ValueError,
        i.e. "manipuliert")."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ValueError("record")
        for name, check in RECORD_TYPES.items():
            if name in data and not check(data[name]):
                raise ValueError(name)
        known = {name: data[name] for name in RECORD_TYPES if name in data}
        return cls(**known, extra={k: v for k, v in data.items() if k not in RECORD_TYPES})

    @property
    def participants(self) -> list[str]:
        """The patient slots of this appointment: ["patient"], or more in a conference."""
        return [slot for slot in ("patient", *EXTRA_PATIENT_SLOTS) if slot in self.codes]

    @property
    def key_code(self) -> str:
        """The code every party derives k_call from: the call code of a conference, else the patient code."""
        return self.call_code or self.codes["patient"]


@dataclass
class Appointment:
    appointment_id: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    status: str
    patient: PatientRecord
    consent: dict[str, Any] | None = None
    reminder: Any = None
    sms: dict[str, Any] | None = None  # size, segments and price of an SMS just sent or previewed


@dataclass
class Page:
    items: list[Appointment]
    total: int
    next_offset: int | None


@dataclass
class Invitation:
    subject: str
    body: str
    mailto: str
    ics: bytes


# --- the record ---------------------------------------------------------------------------------


def seal_record(keyring: Keyring, appointment_id: str, patient: PatientRecord) -> dict[str, Any]:
    """A fresh DEK per record, wrapped under the newest data key v_n (§2.3)."""
    stamped = {**patient.to_json(), "sealed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    payload = json.dumps(stamped, ensure_ascii=False).encode()
    return RecordEnvelope.seal(keyring, appointment_id, FIELD, SCHEMA, payload).to_wire()


def open_record(keyring: Keyring, appointment_id: str, wire: dict[str, Any]) -> PatientRecord:
    """Raises TamperingDetected when the record was altered or belongs to another appointment."""
    try:
        envelope = RecordEnvelope.from_wire(wire)
    except (KeyError, ValueError, TypeError):
        raise TamperingDetected(MSG_RECORD_TAMPERED) from None
    raw = envelope.open(keyring, appointment_id, FIELD, MSG_RECORD_TAMPERED)  # the AAD binds the schema
    if envelope.schema > SCHEMA:  # raised only for an incompatible change (§8a.3): this reader cannot know it
        raise ApiError(409, MSG_NEWER_SCHEMA)
    try:
        return PatientRecord.from_json(json.loads(raw))
    except (KeyError, ValueError, TypeError):
        raise TamperingDetected(MSG_RECORD_TAMPERED) from None


def new_codes(participants: int = 1) -> dict[str, str]:
    """The practitioner's code and one per participant, all different (the server would refuse a repeat)."""
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise ApiError(400, MSG_PARTICIPANTS, {"participants": [MSG_PARTICIPANTS]})
    slots = [*ROLES, *EXTRA_PATIENT_SLOTS[:participants - 1]]
    codes: dict[str, str] = {}
    for slot in slots:
        code = new_code()
        while code in codes.values():  # 2^-60
            code = new_code()
        codes[slot] = code
    return codes


def new_call_code(codes: dict[str, str]) -> str | None:
    """A conference's shared call code (same format as the access codes); None for a 1:1 appointment."""
    if len(codes) <= len(ROLES):
        return None
    code = new_code()
    while code in codes.values():  # never equal to a join code: the server knows their tokens
        code = new_code()
    return code


def join_tokens(codes: dict[str, str]) -> dict[str, str]:
    """One Argon2id run per code (§8a.4); remembered, so a later check of the same code costs nothing."""
    return {slot: CODE_SECRETS.join_token(code).hex() for slot, code in codes.items()}


# --- API calls ------------------------------------------------------------------------------------


def _session(client: Client) -> LoggedIn:
    if client.session is None:
        raise ApiError(401, "Für Termine bitte zuerst anmelden (die Patientendaten werden lokal entschlüsselt).")
    return client.session


def check_fork(session: LoggedIn, wire: dict[str, Any], patient: PatientRecord) -> None:
    """§8a.11: a record sealed under an older keyring than this device's, but after the current keyring was
    rotated in, means some device was shown an older keyring: the server forks the organisation."""
    if not session.keyring_rotated_at or not patient.sealed_at or int(wire["kver"]) >= session.keyring.version:
        return
    try:
        sealed = datetime.fromisoformat(patient.sealed_at)
        rotated = datetime.fromisoformat(session.keyring_rotated_at)
        forked = sealed > rotated + FORK_TOLERANCE
    except (TypeError, ValueError):
        forked = True  # the record is authentic, so an unreadable date was written on purpose
    if forked:
        raise TamperingDetected(MSG_FORK)


def _appointment(client: Client, data: dict[str, Any]) -> Appointment:
    session = _session(client)
    keyring = session.keyring
    appointment_id = str(data["appointment_id"])
    patient = open_record(keyring, appointment_id, data["record"])
    check_fork(session, data["record"], patient)
    return Appointment(
        appointment_id=appointment_id, starts_at=datetime.fromisoformat(data["starts_at"]),
        ends_at=datetime.fromisoformat(data["ends_at"]),
        duration_minutes=int(data.get("duration_minutes") or 0) or int(
            (datetime.fromisoformat(data["ends_at"]) - datetime.fromisoformat(data["starts_at"])).total_seconds()
            // 60),
        status=data["status"], patient=patient,
        consent=data.get("consent"), reminder=data.get("reminder"), sms=data.get("sms"),
    )


def _sealed(client: Client, send: Callable[[Keyring], T]) -> T:
    """Sends a write whose record is sealed under the session's keyring. If the keyring was rotated since the
    login (a device was revoked), the server answers 409 with the current version: fetch the new grant and
    seal again, once (issue 10.11), so the revoked device's data key never protects new data."""
    try:
        return send(_session(client).keyring)
    except ApiError as error:
        if error.status != 409 or error.problem.get("type") != STALE_KEYRING:
            raise
        return send(client.refresh_keyring(int(error.problem.get("keyring_version") or 0)))


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:  # a wall-clock time typed in the practice means German time
        moment = moment.replace(tzinfo=BERLIN)
    return moment.astimezone(UTC).isoformat()


def add(client: Client, starts_at: datetime, duration_minutes: int, name: str, email: str | None = None,
        phone: str | None = None, note: str | None = None, participants: int = 1,
        reminder_minutes: int | None = None) -> Appointment:
    """`participants` > 1 plans a conference (plan plus): one code per participant plus a shared call code.
    `reminder_minutes` asks for an SMS reminder to `phone` in the same request, so a refused reminder
    leaves no appointment behind."""
    if reminder_minutes is not None and not phone:
        raise ApiError(400, "Für die SMS-Erinnerung fehlt die Telefonnummer.",
                       {"phone": ["Bitte eine Telefonnummer angeben."]})
    appointment_id = str(uuid.uuid4())
    codes = new_codes(participants)
    patient = PatientRecord(name=name, email=email, phone=phone, note=note, codes=codes,
                            call_code=new_call_code(codes))
    data = _sealed(client, lambda keyring: client.request("POST", "/api/v1/appointments", {
        "appointment_id": appointment_id, "starts_at": _utc(starts_at), "duration_minutes": duration_minutes,
        "record": seal_record(keyring, appointment_id, patient), "join_tokens": join_tokens(codes),
        "reminder": {"phone": phone, "minutes_before": reminder_minutes} if reminder_minutes is not None else None,
    }, auth=True))
    return _appointment(client, data)


def page(client: Client, day: date | None = None, week: str | None = None, limit: int = 50,
         offset: int = 0) -> Page:
    """One page of a day (`day`) or an ISO week (`week="2026-W49"`), in Berlin time, opened locally."""
    query = f"day={day.isoformat()}" if day is not None else f"week={week}"
    data = client.request("GET", f"/api/v1/appointments?{query}&limit={limit}&offset={offset}", auth=True)
    return Page([_appointment(client, item) for item in data["items"]], int(data["total"]), data["next_offset"])


def listing(client: Client, day: date | None = None, week: str | None = None,
            page_size: int = 50) -> Iterator[Appointment]:
    offset: int | None = 0
    while offset is not None:
        current = page(client, day, week, page_size, offset)
        yield from current.items
        offset = current.next_offset


def show(client: Client, appointment_id: str) -> Appointment:
    return _appointment(client, client.request("GET", f"/api/v1/appointments/{appointment_id}", auth=True))


def _command(client: Client, appointment_id: str, name: str, body: dict[str, Any] | None) -> Appointment:
    return _appointment(client, client.request("POST", f"/api/v1/appointments/{appointment_id}/{name}", body,
                                               auth=True))


def reschedule(client: Client, appointment_id: str, starts_at: datetime, duration_minutes: int) -> Appointment:
    return _command(client, appointment_id, "reschedule",
                    {"starts_at": _utc(starts_at), "duration_minutes": duration_minutes})


def cancel(client: Client, appointment_id: str) -> Appointment:
    return _command(client, appointment_id, "cancel", {})


def edit(client: Client, appointment_id: str, **changes: str | None) -> Appointment:
    """Change name, email, phone or note; the record is re-encrypted under a fresh DEK, the codes stay."""
    unknown = set(changes) - {"name", "email", "phone", "note"}
    if unknown:
        raise ApiError(400, "Unbekannte Angaben: " + ", ".join(sorted(unknown)) + ".")
    current = show(client, appointment_id)
    try:  # through the tolerant form, so keys of newer clients stay (§8a.3)
        patient = PatientRecord.from_json({**current.patient.to_json(), **changes})
    except ValueError:
        raise ApiError(400, "Der Name darf nicht leer sein.", {"name": ["Bitte einen Namen angeben."]}) from None
    return _sealed(client, lambda keyring: _command(client, appointment_id, "record",
                                                    {"record": seal_record(keyring, appointment_id, patient)}))


def record_consent(client: Client, appointment_id: str, method: str, given_at: datetime | None = None) -> Appointment:
    return _command(client, appointment_id, "consent",
                    {"given_at": _utc(given_at or datetime.now(UTC)), "method": method})


def reissue_codes(client: Client, appointment_id: str) -> Appointment:
    """New codes (and a new call code for a conference) in a re-encrypted record (fresh DEK); the old codes
    stop working at once. The number of participants stays."""
    current = show(client, appointment_id)
    codes = new_codes(len(current.patient.participants))
    patient = replace(current.patient, codes=codes, call_code=new_call_code(codes))
    return _sealed(client, lambda keyring: _command(client, appointment_id, "codes", {
        "record": seal_record(keyring, appointment_id, patient), "join_tokens": join_tokens(codes)}))


def sms_size(sms: dict[str, Any]) -> str:
    """How the CLI and apps show what an SMS costs before it is sent (billed per segment)."""
    segments = int(sms["segments"])
    price = f"{float(sms['price_eur']):.2f}".replace(".", ",")
    return (f"{sms['characters']} Zeichen ({sms['encoding']}), {segments} "
            f"{'SMS-Segment' if segments == 1 else 'SMS-Segmente'}, {price} EUR")


def send_sms_invitation(client: Client, appointment_id: str, phone: str | None = None,
                        invitation_id: str | None = None, preview: bool = False) -> Appointment:
    """Plan plus. Retrying with the same invitation_id never sends or charges twice. See SMS_NOTICE.
    `preview` sends nothing and answers the SMS's size and price in `Appointment.sms`."""
    current = show(client, appointment_id)
    if current.patient.call_code:
        raise ApiError(400, MSG_SMS_CONFERENCE)
    number = phone or current.patient.phone
    if not number:
        raise ApiError(400, "Für diesen Termin ist keine Telefonnummer hinterlegt.",
                       {"phone": ["Bitte eine Telefonnummer angeben."]})
    return _command(client, appointment_id, "sms-invitations", {
        "invitation_id": invitation_id or str(uuid.uuid4()), "phone": number,
        "patient_code": current.patient.codes["patient"], "preview": preview})


def request_reminder(client: Client, appointment_id: str, phone: str | None = None,
                     minutes_before: int = 60) -> Appointment:
    number = phone or show(client, appointment_id).patient.phone
    if not number:
        raise ApiError(400, "Für diesen Termin ist keine Telefonnummer hinterlegt.",
                       {"phone": ["Bitte eine Telefonnummer angeben."]})
    return _command(client, appointment_id, "reminder", {"phone": number, "minutes_before": minutes_before})


def check_code(client: Client, code: str) -> dict[str, Any]:
    """For patients and practitioners, no login: forgiving input (case, spaces, O/0, I/L/1)."""
    try:
        token = CODE_SECRETS.join_token(code)
    except ValueError:
        raise ApiError(404, MSG_CODE_UNKNOWN) from None
    result: dict[str, Any] = client.request("POST", "/api/v1/access-codes/check", {"join_token": token.hex()})
    return result


# --- invitations ----------------------------------------------------------------------------------


def join_address(client: Client) -> str:
    return f"{client.origin}/join"


def _when(moment: datetime) -> str:
    local = moment.astimezone(BERLIN)
    return f"{local:%d.%m.%Y} um {local:%H:%M} Uhr"


def invitation(client: Client, appointment: Appointment, practice: str | None = None,
               participant: str = "patient", name: str | None = None, email: str | None = None) -> Invitation:
    """E-mail text, a mailto: link and an iCalendar file for one participant, all composed on this machine.

    `participant` is the code slot ("patient", or "patient-2"/"patient-3" in a conference); the further
    participants' names and addresses are not in the record, so pass them here. A conference invitation
    carries the participant's own code and the shared call code."""
    practice = practice or _session(client).org_short
    record = appointment.patient
    if participant not in record.participants:
        raise ApiError(400, MSG_NO_PARTICIPANT, {"participant": [MSG_NO_PARTICIPANT]})
    code = record.codes[participant]
    main = participant == "patient"
    greeting = name or (record.name if main else None)
    address = email or (record.email if main else None)
    url = join_address(client)
    subject = f"Ihre Videosprechstunde am {_when(appointment.starts_at)}"
    kind = "Videosprechstunde" if record.call_code is None else \
        f"Videosprechstunde (Konferenz mit {len(record.participants)} Teilnehmenden)"
    steps = f"2. Geben Sie Ihren Zugangscode ein: {code}\n"
    if record.call_code is not None:
        steps += (f"3. Geben Sie zusätzlich den Konferenzcode ein: {record.call_code}\n"
                  "   (er schützt die Verbindung zwischen allen Teilnehmenden)\n")
    body = (
        f"Guten Tag{' ' + greeting if greeting else ''},\n\n"
        f"Ihre {kind} bei {practice} findet am {_when(appointment.starts_at)} statt "
        f"(Dauer: {appointment.duration_minutes} Minuten).\n\n"
        f"So nehmen Sie teil:\n"
        f"1. Öffnen Sie kurz vor dem Termin {url}\n"
        f"{steps}\n"
        "Sie brauchen kein Benutzerkonto und müssen nichts installieren. Der Zugangscode gilt ab 30 Minuten vor "
        "dem Termin. Bitte geben Sie ihn nicht weiter.\n\n"
        f"Mit freundlichen Grüßen\n{practice}\n"
    )
    to = quote(address or "", safe="@")
    crlf_body = body.replace("\n", "\r\n")  # RFC 6068: line breaks in a mailto body are %0D%0A
    mailto = f"mailto:{to}?subject={quote(subject, safe='')}&body={quote(crlf_body, safe='')}"
    return Invitation(subject, body, mailto, ics(appointment, practice, url, body))


def ics(appointment: Appointment, practice: str, url: str, description: str) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Sprechzimmer//Videosprechstunde//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{appointment.appointment_id}@sprechzimmer")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", appointment.starts_at.astimezone(BERLIN))
    event.add("dtend", appointment.ends_at.astimezone(BERLIN))
    event.add("summary", f"Videosprechstunde – {practice}")
    event.add("description", description)
    event.add("location", url)
    event.add("url", url)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    ics: bytes = calendar.to_ical()
    return ics
