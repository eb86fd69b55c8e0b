"""Terminverwaltung: schedule, reschedule, cancel, consent, re-issue codes, access-code checks, SMS.

The server handles times, ciphertext and keyed tags only (design/crypto.md §4.9, §4.10a). A phone number
passes through once for an SMS invitation and is forgotten; for an opt-in reminder it waits, encrypted
under the organisation's server-side key K_rm, only until the reminder has been sent."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from application.access import Session, ip_prefix
from application.errors import Conflict, Invalid, NotFound, NotPermitted, StaleKeyring, Throttled
from application.fresh import organisation_of
from application.jobs import Job
from application.plans import current_plan, require_feature
from application.ports import CalendarEntry, DueReminder, JoinGrant, ReminderNumbers, SmsFailed
from application.services import Services
from domain.appointment import CODE_SLOTS, ROLES, AccessCodeTag, Appointment, role_of_slot
from domain.base import require_client_id
from domain.calendar_day import BERLIN
from domain.plans import Feature, get_plan, participants_allowed
from domain.sms import fit_one_segment, measure

log = logging.getLogger("sprechzimmer.appointments")

MSG_CODE_UNKNOWN = "Zugangscode unbekannt."
MSG_NOT_FOUND = "Termin nicht gefunden."
MSG_TAG_TAKEN = "Dieser Zugangscode ist bereits vergeben. Bitte neue Codes erzeugen."
MSG_SMS_FAILED = ("Der SMS-Versand ist fehlgeschlagen; die SMS wurde nicht versandt und nicht berechnet. "
                  "Bitte später erneut versuchen.")
MSG_SMS_UNAVAILABLE = "Der SMS-Versand ist auf diesem Server nicht eingerichtet."
MSG_WRONG_CODE = "Der Zugangscode gehört nicht zum Patienten dieses Termins."
MSG_TOO_MANY = "Ihr Tarif erlaubt höchstens {n} Teilnehmende je Termin (Behandler eingeschlossen)."

# Access-code guessing (§4.3): misses per IP, and per network prefix as a second, wider net.
CODE_IP_WINDOW, CODE_IP_LIMIT = 900.0, 20
CODE_NET_WINDOW, CODE_NET_LIMIT = 3600.0, 100


class SmsUnavailable(Exception):
    """No SMS gateway is configured (HTTP 503)."""


@dataclass(frozen=True)
class AppointmentView:
    appointment_id: UUID
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    status: str
    record: dict[str, Any]
    consent: dict[str, Any] | None
    reminder: dict[str, Any] | None
    codes_version: int
    sms: dict[str, Any] | None = None  # size and price of the SMS just sent or previewed


def _view(a: Appointment, sms: dict[str, Any] | None = None) -> AppointmentView:
    reminder = consent = None
    if a.reminder is not None and a.reminder_due_at is not None:
        reminder = {"minutes_before": a.reminder["minutes_before"], "due_at": a.reminder_due_at.isoformat()}
    if a.consent is not None:
        consent = {"given_at": a.consent["given_at"].isoformat(), "method": a.consent["method"]}
    return AppointmentView(a.id, a.starts_at, a.ends_at, a.duration_minutes, a.status, a.record, consent,
                           reminder, a.codes_version, sms)


def _tags(services: Services, session: Session, join_tokens: dict[str, bytes]) -> dict[str, str]:
    """Keyed tags per code slot. More than one patient code makes a conference: plan plus only, and never
    more codes than the plan's participants (practitioner included)."""
    if len(join_tokens) > len(ROLES):
        require_feature(services, session.org_id, Feature.CONFERENCE)
        plan = current_plan(services, session.org_id)
        if not participants_allowed(plan, len(join_tokens)):
            raise Invalid(MSG_TOO_MANY.format(n=get_plan(plan).max_participants), "join_tokens")
    return {slot: services.crypto.access_code_tag(join_tokens[slot], services.pepper_code).hex()
            for slot in CODE_SLOTS if slot in join_tokens}


def _own(services: Services, session: Session, appointment_id: UUID) -> Appointment:
    """Another organisation's appointment is as unknown as a missing one."""
    appointment = services.events.get(appointment_id)
    if not isinstance(appointment, Appointment) or appointment.org_id != session.org_id:
        raise NotFound(MSG_NOT_FOUND)
    return appointment


MSG_CONCURRENT = "Der Termin wurde gleichzeitig anderweitig geändert. Bitte neu laden und erneut versuchen."


def _save(services: Services, *aggregates: Any, message: str = MSG_CONCURRENT, field: str | None = None) -> int:
    """A concurrent change of the same appointment, or a code tag claimed twice, is a 409, never a 500."""
    return services.commit(*aggregates, message=message, field=field)


def _month(services: Services) -> str:
    return services.today().strftime("%Y-%m")


# --- commands -------------------------------------------------------------------------------------


def _require_current_keyring(services: Services, session: Session, record: dict[str, Any]) -> None:
    """New patient data is sealed under the newest data key only (issue 10.11, §4.8)."""
    organisation = organisation_of(services, session)
    if int(record["kver"]) < organisation.keyring_version:
        raise StaleKeyring(organisation.keyring_version)


def schedule(services: Services, session: Session, appointment_id: UUID, starts_at: datetime,
             duration_minutes: int, record: dict[str, Any], join_tokens: dict[str, bytes],
             reminder: dict[str, Any] | None = None) -> AppointmentView:
    """The client chose the id (it is bound into the record's AAD) and generated both codes. An SMS reminder
    ({phone, minutes_before}) is checked with everything else before the one save: all or nothing."""
    require_client_id(appointment_id, "appointment_id")
    _require_current_keyring(services, session, record)
    if services.events.get(appointment_id) is not None:
        raise Conflict("Diese Termin-ID ist bereits vergeben.", "appointment_id")
    tags = _tags(services, session, join_tokens)
    appointment = Appointment.schedule(appointment_id, session.org_id, starts_at, duration_minutes, record, tags)
    claims = [AccessCodeTag.claim(tag, session.org_id, appointment_id, role) for role, tag in tags.items()]
    pending: tuple[ReminderNumbers, str] | None = None
    if reminder:
        numbers, key = _reminder_store(services, session)
        reminder_id = services.crypto.random_bytes(16).hex()
        appointment.request_reminder(reminder_id, reminder["minutes_before"], services.clock())
        # The number first, as in request_reminder: a crash before the save leaves only an orphan.
        numbers.put(reminder_id, session.org_id,
                    _seal_number(services, key, session.org_id, reminder_id, reminder["phone"]))
        pending = numbers, reminder_id
    try:
        services.commit(appointment, *claims)
    except Conflict:
        if pending is not None:
            pending[0].delete(pending[1])
        if services.events.get(appointment_id) is not None:
            raise Conflict("Diese Termin-ID ist bereits vergeben.", "appointment_id") from None
        raise Conflict(MSG_TAG_TAKEN, "join_tokens") from None
    if reminder:
        return _view(appointment, _sms_info(services, session.org_id,
                                            _sms_text(services, REMINDER_TEXT, session.org_id, appointment)))
    return _view(appointment)


def reschedule(services: Services, session: Session, appointment_id: UUID, starts_at: datetime,
               duration_minutes: int) -> AppointmentView:
    appointment = _own(services, session, appointment_id)
    appointment.reschedule(starts_at, duration_minutes)
    _save(services, appointment)
    return _view(appointment)


def cancel(services: Services, session: Session, appointment_id: UUID) -> AppointmentView:
    appointment = _own(services, session, appointment_id)
    pending = appointment.reminder["reminder_id"] if appointment.reminder else None
    appointment.cancel()
    _save(services, appointment)
    if pending and services.reminder_numbers is not None:
        services.reminder_numbers.delete(pending)  # the number is kept no longer than needed
    return _view(appointment)


def change_record(services: Services, session: Session, appointment_id: UUID,
                  record: dict[str, Any]) -> AppointmentView:
    appointment = _own(services, session, appointment_id)
    _require_current_keyring(services, session, record)
    appointment.change_record(record)
    _save(services, appointment)
    return _view(appointment)


def record_consent(services: Services, session: Session, appointment_id: UUID, given_at: datetime,
                   method: str) -> AppointmentView:
    appointment = _own(services, session, appointment_id)
    appointment.record_consent(given_at, method)
    _save(services, appointment)
    return _view(appointment)


def reissue_codes(services: Services, session: Session, appointment_id: UUID, record: dict[str, Any],
                  join_tokens: dict[str, bytes]) -> AppointmentView:
    appointment = _own(services, session, appointment_id)
    _require_current_keyring(services, session, record)
    tags = _tags(services, session, join_tokens)
    appointment.reissue_codes(record, tags)
    claims = [AccessCodeTag.claim(tag, session.org_id, appointment_id, role) for role, tag in tags.items()]
    _save(services, appointment, *claims, message=MSG_TAG_TAKEN, field="join_tokens")
    return _view(appointment)


# --- queries --------------------------------------------------------------------------------------


def show(services: Services, session: Session, appointment_id: UUID) -> AppointmentView:
    return _view(_own(services, session, appointment_id))


def calendar(services: Services, session: Session, first_day: date, days: int, limit: int,
             offset: int) -> tuple[list[CalendarEntry], int]:
    """Appointments starting on `days` Berlin calendar days from `first_day` (a day or a week)."""
    if services.appointment_views is None:
        raise RuntimeError("appointment views are not wired")  # bootstrap always wires them
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=BERLIN)
    end_day = first_day + timedelta(days=days)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=BERLIN)
    return services.appointment_views.between(session.org_id, start, end, limit, offset)


# --- access codes (join tokens) ---------------------------------------------------------------------


def resolve_join_token(services: Services, join_token: bytes) -> JoinGrant | None:
    """What a join token entitles its holder to right now (services.clock()), or None.

    Wrong, unknown, revoked (cancel, re-issue) and out-of-window tokens all give None: callers must not
    tell them apart. Used by /access-codes/check and by the signalling server."""
    if len(join_token) != 32:
        return None
    tag = services.crypto.access_code_tag(join_token, services.pepper_code).hex()
    claim = services.events.get(AccessCodeTag.id_for(tag))
    if not isinstance(claim, AccessCodeTag):
        return None
    appointment = services.events.get(claim.appointment_id)
    if not isinstance(appointment, Appointment) or appointment.org_id != claim.org_id:
        return None
    slot = appointment.role_of(tag)
    if slot is None or slot != claim.role or not appointment.codes_valid_at(services.clock()):
        return None
    return JoinGrant(org_id=appointment.org_id, appointment_id=appointment.id, role=role_of_slot(slot),
                     starts_at=appointment.starts_at, ends_at=appointment.ends_at, slot=slot,
                     seats=appointment.seats, consented=appointment.consent is not None)


def _check_guesses(services: Services, ip: str, now: float) -> None:
    for key, window, limit in ((f"code-ip:{ip}", CODE_IP_WINDOW, CODE_IP_LIMIT),
                               (f"code-net:{ip_prefix(ip)}", CODE_NET_WINDOW, CODE_NET_LIMIT)):
        count, oldest = services.ephemeral.hits_since(key, now - window)
        if count >= limit and oldest is not None:
            raise Throttled(math.ceil(oldest + window - now))


def check_join_token(services: Services, join_token: bytes, ip: str) -> JoinGrant:
    """The throttled form of resolve_join_token for anonymous callers: after 20 misses from one IP within
    15 minutes (or 100 from its network within an hour) every attempt from there is refused with 429, even
    a right one — so guessing gets no answers, while other IPs are unaffected."""
    now = services.now()
    _check_guesses(services, ip, now)
    grant = resolve_join_token(services, join_token)
    if grant is None:
        services.ephemeral.record_hit(f"code-ip:{ip}", now)
        services.ephemeral.record_hit(f"code-net:{ip_prefix(ip)}", now)
        raise NotFound(MSG_CODE_UNKNOWN)
    return grant


@dataclass(frozen=True)
class CodeCheck:
    """What the patient page shows once the code is known: who invites (the practice's registered name, plain
    to the server like every organisation field, crypto.md §3), when, and whether consent is still needed."""

    role: str
    appointment_id: UUID
    starts_at: datetime
    ends_at: datetime
    consented: bool
    practice: str


def _code_check(services: Services, grant: JoinGrant) -> CodeCheck:
    return CodeCheck(role=grant.role, appointment_id=grant.appointment_id, starts_at=grant.starts_at,
                     ends_at=grant.ends_at, consented=grant.consented,
                     practice=_organisation_name(services, grant.org_id))


def check_code(services: Services, join_token: bytes, ip: str) -> CodeCheck:
    """POST /access-codes/check: the throttled check of check_join_token, with the practice's name."""
    return _code_check(services, check_join_token(services, join_token, ip))


MSG_CONSENT_BY_PATIENT = "Die Einwilligung gibt die Patientin oder der Patient mit dem eigenen Zugangscode ab."


def record_patient_consent(services: Services, join_token: bytes, ip: str) -> CodeCheck:
    """The patient consents on the patient page, with the join token as the only credential; recorded once
    (how: PATIENT_PAGE, when: the server's clock), a repeat changes nothing."""
    grant = check_join_token(services, join_token, ip)
    if grant.role != "patient":
        raise NotPermitted(MSG_CONSENT_BY_PATIENT, "join_token")
    if grant.consented:
        return _code_check(services, grant)
    appointment = services.events.get(grant.appointment_id, Appointment)
    if not isinstance(appointment, Appointment):
        raise NotFound(MSG_CODE_UNKNOWN)
    appointment.record_patient_consent(services.clock())
    _save(services, appointment)
    return _code_check(services, dataclasses.replace(grant, consented=True))


# --- SMS -----------------------------------------------------------------------------------------


def _organisation_name(services: Services, org_id: UUID) -> str:
    """The practice's name as registered (server-side data, crypto.md §3 class P), for SMS and the patient page."""
    organisation = services.events.get(org_id)
    if organisation is None:
        return "Ihre Praxis"
    return str((organisation.profile.get("organisation") or {}).get("name") or organisation.short_name)


def _local(moment: datetime) -> str:
    local = moment.astimezone(BERLIN)
    return f"{local:%d.%m.%Y} um {local:%H:%M} Uhr"


def join_url(services: Services) -> str:
    return f"{services.origins[0]}/join" if services.origins else "/join"


# The default texts fit one GSM-7 segment (160 characters): with a join address of 36 characters there is room
# for a practice name of 35 (invitation) or 39 (reminder); a longer name is shortened and typographic
# characters are made plain (domain/sms.py, tests/unit/test_sms.py).
INVITATION_TEXT = "{name}: Videosprechstunde am {when}. Zugangscode: {code}. Teilnehmen: {url}"
REMINDER_TEXT = "Erinnerung {name}: Videosprechstunde am {when}. Zugangscode bereithalten: {url}"


def _sms_text(services: Services, template: str, org_id: UUID, appointment: Appointment, **parts: str) -> str:
    filled = template.replace("{name}", "{{name}}").format(when=_local(appointment.starts_at),
                                                          url=join_url(services), **parts)
    return fit_one_segment(filled, _organisation_name(services, org_id))


def _sms_info(services: Services, org_id: UUID, text: str) -> dict[str, Any]:
    """What the API shows before and after sending: size, segments and what they cost in the plan."""
    size = measure(text)
    price = get_plan(current_plan(services, org_id)).sms_price * size.segments
    return {**size.to_wire(), "price_eur": str(price)}


def send_sms_invitation(services: Services, session: Session, appointment_id: UUID, invitation_id: UUID,
                        phone: str, patient_code: str, preview: bool = False) -> AppointmentView:
    """Einladung per SMS (plus). The code and number pass through once and are kept nowhere; the
    invitation id makes a retry after a timeout neither send nor charge twice. The code must be this
    appointment's current patient code, so the gateway never carries arbitrary text. `preview` checks
    everything and answers the SMS's size and price without sending it."""
    require_client_id(invitation_id, "invitation_id")
    require_feature(services, session.org_id, Feature.SMS_INVITATION)
    appointment = _own(services, session, appointment_id)
    if appointment.cancelled:
        raise Conflict("Der Termin ist abgesagt.", "status")
    key = f"invitation/{appointment_id}/{invitation_id}"
    if key in appointment.sms_keys:
        return _view(appointment)  # sent and counted before: answering again is safe
    try:
        code = services.crypto.normalise_code(patient_code)
    except ValueError:
        raise Invalid(MSG_WRONG_CODE, "patient_code") from None
    tag = services.crypto.access_code_tag(services.crypto.join_token(code), services.pepper_code)
    if appointment.role_of(tag.hex()) != "patient":
        raise Invalid(MSG_WRONG_CODE, "patient_code")
    code = f"{code[0:4]}-{code[4:8]}-{code[8:12]}"
    text = _sms_text(services, INVITATION_TEXT, session.org_id, appointment, code=code)
    sms = _sms_info(services, session.org_id, text)
    if preview:
        return _view(appointment, sms)
    _send(services, phone, text, key)
    appointment.sms_invitation_sent(key, _month(services), sms["segments"])
    try:
        services.commit(appointment)
    except Conflict:  # a parallel retry of the same invitation counted it (same idempotency key)
        appointment = _own(services, session, appointment_id)
        if key not in appointment.sms_keys:
            raise Conflict(MSG_CONCURRENT) from None
    return _view(appointment, sms)


def request_reminder(services: Services, session: Session, appointment_id: UUID, phone: str,
                     minutes_before: int) -> AppointmentView:
    """Opt-in Erinnerung per SMS. The number is stored only as ciphertext under K_rm, outside the history,
    and deleted once the reminder has gone out (or the appointment is cancelled)."""
    numbers, key = _reminder_store(services, session)
    appointment = _own(services, session, appointment_id)
    previous = appointment.reminder["reminder_id"] if appointment.reminder else None
    reminder_id = services.crypto.random_bytes(16).hex()
    if previous:
        appointment.drop_reminder(previous, "ersetzt")
    appointment.request_reminder(reminder_id, minutes_before, services.clock())
    # The number first: a crash before the event leaves only an orphan that no reminder points to.
    numbers.put(reminder_id, session.org_id, _seal_number(services, key, session.org_id, reminder_id, phone))
    try:
        services.commit(appointment, message=MSG_CONCURRENT)
    except Conflict:
        numbers.delete(reminder_id)
        raise
    if previous:
        numbers.delete(previous)
    return _view(appointment, _sms_info(services, session.org_id,
                                        _sms_text(services, REMINDER_TEXT, session.org_id, appointment)))


def _reminder_store(services: Services, session: Session) -> tuple[ReminderNumbers, bytes]:
    """Reminders need plan plus, a gateway, the number table and the organisation's key K_rm."""
    require_feature(services, session.org_id, Feature.SMS_INVITATION)
    _gateway(services)
    numbers, key = services.reminder_numbers, services.keystore.read_model_key(session.org_id)
    if numbers is None or key is None:
        raise SmsUnavailable(MSG_SMS_UNAVAILABLE)
    return numbers, key


def _number_aad(services: Services, org_id: UUID, reminder_id: str) -> bytes:
    return services.crypto.lp("vdc/v1/reminder-number", str(org_id), reminder_id)


def _seal_number(services: Services, key: bytes, org_id: UUID, reminder_id: str, phone: str) -> str:
    return services.crypto.aead_encrypt(key, phone.encode(), _number_aad(services, org_id, reminder_id)).hex()


def _open_number(services: Services, org_id: UUID, reminder_id: str, ciphertext: str) -> str | None:
    key = services.keystore.read_model_key(org_id)
    if key is None:
        return None
    try:
        return services.crypto.aead_decrypt(key, bytes.fromhex(ciphertext),
                                            _number_aad(services, org_id, reminder_id)).decode()
    except Exception:  # a tampered or foreign row: treat as missing, never guess
        return None


def send_due_reminders(services: Services) -> int:
    """Job: every reminder that is due and still pending goes out once. The ReminderSent event is saved
    after the gateway accepted the SMS, and the gateway call carries the reminder id as idempotency key,
    so a crash in between can repeat the call but not the SMS; a restart loses nothing because the due
    reminders come from the read model of the events and the numbers from their own table."""
    views, numbers = services.appointment_views, services.reminder_numbers
    if views is None or numbers is None or services.sms is None:
        return 0
    now = services.clock()
    done = 0
    for due in views.due_reminders(now):
        try:
            done += _remind(services, numbers, due, now)
        except Exception:  # one broken reminder must not hold up the others; it is retried next run
            log.exception("reminder %s failed", due.reminder_id)
    return done


def _remind(services: Services, numbers: ReminderNumbers, due: DueReminder, now: datetime) -> int:
    appointment = services.events.get(due.appointment_id)
    pending = appointment.reminder if isinstance(appointment, Appointment) else None
    if appointment is None or pending is None or pending["reminder_id"] != due.reminder_id:
        numbers.delete(due.reminder_id)  # an orphan (crash before the event) or an outdated row
        return 0
    ciphertext = numbers.get(due.reminder_id)
    phone = _open_number(services, due.org_id, due.reminder_id, ciphertext) if ciphertext else None
    if phone is None or now >= appointment.starts_at:
        appointment.drop_reminder(due.reminder_id, "zu spät" if phone else "Nummer fehlt")
        services.commit(appointment)
        numbers.delete(due.reminder_id)
        return 0
    text = _sms_text(services, REMINDER_TEXT, due.org_id, appointment)
    try:
        _send(services, phone, text, f"reminder/{due.reminder_id}")
    except SmsFailed:
        return 0  # retried on the next run; nothing was charged
    for _ in range(3):  # a concurrent change of the appointment: reload and record again
        try:
            appointment.reminder_sent(due.reminder_id, _month(services), measure(text).segments)
            services.commit(appointment)
            break
        except Conflict:
            appointment = services.events.get(due.appointment_id)
            if not isinstance(appointment, Appointment) or appointment.reminder is None:
                break
    numbers.delete(due.reminder_id)
    return 1


def _gateway(services: Services) -> Any:
    if services.sms is None:
        raise SmsUnavailable(MSG_SMS_UNAVAILABLE)
    return services.sms


def _send(services: Services, to: str, text: str, key: str) -> None:
    """The number and the text never reach a log line; only the idempotency key does."""
    try:
        _gateway(services).send(to, text, key)
    except SmsFailed:
        log.warning("sms gateway failed (key %s)", key)
        raise


APPOINTMENT_JOBS = [Job("appointment-reminders", 60, send_due_reminders)]
