"""Termine, Zugangscodes, SMS-Einladungen und Erinnerungen."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import falcon
import falcon.asgi
from apispec import APISpec
from marshmallow import Schema, ValidationError, fields

from application import appointments
from application.ports import SmsFailed
from domain.appointment import CONSENT_METHODS, MAX_DURATION, MIN_DURATION
from interfaces.http import problems
from interfaces.http.common import Resource, Runtime, client_ip, load
from interfaces.http.openapi import operation
from interfaces.http.schemas import MSG, EmptySchema, GermanSchema, _choice, _hex, _int, _phone, _text

MAX_PAGE = 100
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def _moment() -> fields.AwareDateTime:
    return fields.AwareDateTime(required=True, error_messages={
        **MSG, "invalid": "Bitte Datum und Uhrzeit im ISO-Format angeben (z. B. 2026-12-01T10:00:00+01:00).",
        "invalid_awareness": "Bitte die Uhrzeit mit Zeitzone angeben."})


def _uuid() -> fields.UUID:
    return fields.UUID(required=True, error_messages={**MSG, "invalid_uuid": "Bitte eine UUID angeben."})


class RecordSchema(GermanSchema):
    """The end-to-end encrypted patient record (design/crypto.md §2.3): opaque to the server."""

    kver = _int(1, 1_000_000)
    wrapped_dek = _hex(max_bytes=128)
    ciphertext = _hex(max_bytes=16 * 1024)
    schema = _int(1, 1000)


def _extra_token(slot: str) -> fields.String:
    """A conference's further participant (plan plus): optional, sent as "patient-2"/"patient-3"."""
    token = _hex(32)
    return fields.String(required=False, data_key=slot, validate=token.validators,
                         error_messages=token.error_messages)


class JoinTokensSchema(GermanSchema):
    practitioner = _hex(32)
    patient = _hex(32)
    patient_2 = _extra_token("patient-2")
    patient_3 = _extra_token("patient-3")


class ReminderSchema(GermanSchema):
    phone = _text(40, validate=_phone)
    minutes_before = _int(15, 2880)


class ScheduleSchema(GermanSchema):
    appointment_id = _uuid()
    starts_at = _moment()
    duration_minutes = _int(MIN_DURATION, MAX_DURATION)
    record = fields.Nested(RecordSchema, required=True, error_messages=MSG)
    join_tokens = fields.Nested(JoinTokensSchema, required=True, error_messages=MSG)
    # Optional SMS reminder, requested with the appointment in one step: refused as a whole (e.g. on basis)
    # before anything is saved, so a retry never makes a duplicate appointment.
    reminder = fields.Nested(ReminderSchema, load_default=None, allow_none=True, error_messages=MSG)


class RescheduleSchema(GermanSchema):
    starts_at = _moment()
    duration_minutes = _int(MIN_DURATION, MAX_DURATION)


class ConsentSchema(GermanSchema):
    given_at = _moment()
    method = _choice(CONSENT_METHODS)


class ReissueSchema(GermanSchema):
    record = fields.Nested(RecordSchema, required=True, error_messages=MSG)
    join_tokens = fields.Nested(JoinTokensSchema, required=True, error_messages=MSG)


class RecordChangeSchema(GermanSchema):
    record = fields.Nested(RecordSchema, required=True, error_messages=MSG)


class SmsInvitationSchema(GermanSchema):
    invitation_id = _uuid()
    phone = _text(40, validate=_phone)
    patient_code = _text(30)
    preview = fields.Boolean(load_default=False, error_messages=MSG)  # size and price only, nothing is sent


class CodeCheckSchema(GermanSchema):
    join_token = _hex(32)


class AppointmentSchema(Schema):
    appointment_id = fields.UUID()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    duration_minutes = fields.Integer()
    status = fields.String()
    record = fields.Dict()
    consent = fields.Dict(allow_none=True)
    reminder = fields.Dict(allow_none=True)
    sms = fields.Dict(allow_none=True)  # encoding, characters, segments, price_eur of the SMS sent/previewed
    codes_version = fields.Integer()


class CalendarEntrySchema(Schema):
    appointment_id = fields.UUID()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    status = fields.String()
    record = fields.Dict()
    consent = fields.Dict(allow_none=True)
    reminder = fields.Boolean()


class CalendarPageSchema(Schema):
    items = fields.List(fields.Nested(CalendarEntrySchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()
    next_offset = fields.Integer(allow_none=True)


class CodeCheckResultSchema(Schema):
    role = fields.String()
    appointment_id = fields.UUID()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    consented = fields.Boolean()  # false: a patient must consent (POST /api/v1/access-codes/consent) first
    practice = fields.String()  # the practice's name as registered, shown on the patient page


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _tokens(data: dict[str, Any]) -> dict[str, bytes]:
    """Code slot ("practitioner", "patient", "patient-2", …) → join token."""
    return {slot.replace("_", "-"): bytes.fromhex(token) for slot, token in data["join_tokens"].items()}


def _appointment_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise falcon.HTTPNotFound(description=appointments.MSG_NOT_FOUND) from None


def _range(req: falcon.asgi.Request) -> tuple[date, int]:
    day, week = req.get_param("day"), req.get_param("week")
    if bool(day) == bool(week):
        raise ValidationError({"day": ["Bitte entweder day=JJJJ-MM-TT oder week=JJJJ-Www angeben."]})
    if day:
        try:
            return date.fromisoformat(day), 1
        except ValueError:
            raise ValidationError({"day": ["Bitte ein Datum im Format JJJJ-MM-TT angeben."]}) from None
    match = _WEEK.match(week or "")
    try:
        if match is None:
            raise ValueError(week)
        return date.fromisocalendar(int(match[1]), int(match[2]), 1), 7
    except ValueError:
        raise ValidationError({"week": ["Bitte eine Kalenderwoche im Format JJJJ-Www angeben."]}) from None


def _page(req: falcon.asgi.Request) -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    values = {}
    for name, default, maximum in (("limit", 50, MAX_PAGE), ("offset", 0, 1_000_000)):
        raw = req.get_param(name)
        try:
            values[name] = default if raw is None else int(raw)
            if not (1 if name == "limit" else 0) <= values[name] <= maximum:
                raise ValueError(raw)
        except ValueError:
            errors[name] = [f"Bitte eine ganze Zahl bis {maximum} angeben."]
    if errors:
        raise ValidationError(errors)
    return values["limit"], values["offset"]


class Appointments(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        data = await load(req, ScheduleSchema())
        view = await self.runtime.call(appointments.schedule, self.services, session, data["appointment_id"],
                                       _utc(data["starts_at"]), data["duration_minutes"], data["record"],
                                       _tokens(data), data["reminder"])
        resp.status = falcon.HTTP_201
        resp.media = AppointmentSchema().dump(view)

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        first_day, days = _range(req)
        limit, offset = _page(req)
        entries, total = await self.runtime.call(appointments.calendar, self.services, session, first_day, days,
                                                 limit, offset)
        following = offset + len(entries)
        resp.media = CalendarPageSchema().dump({"items": entries, "total": total, "limit": limit, "offset": offset,
                                                "next_offset": following if following < total else None})


class OneAppointment(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, appointment_id: str) -> None:
        session = await self.session(req)
        view = await self.runtime.call(appointments.show, self.services, session, _appointment_id(appointment_id))
        resp.media = AppointmentSchema().dump(view)


class Command(Resource):
    """POST /api/v1/appointments/{id}/<command>: each command has its schema and use case."""

    def __init__(self, runtime: Runtime, schema: type[Schema], use_case: Any, arguments: Any):
        super().__init__(runtime)
        self.schema = schema
        self.use_case = use_case
        self.arguments = arguments

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, appointment_id: str) -> None:
        session = await self.session(req)
        target = _appointment_id(appointment_id)
        bodiless = self.schema is EmptySchema and not req.content_length  # "cancel" needs no body
        data = {} if bodiless else await load(req, self.schema())
        view = await self.runtime.call(self.use_case, self.services, session, target, *self.arguments(data))
        resp.media = AppointmentSchema().dump(view)


class CodeCheck(Resource):
    """Anonymous: a patient or practitioner learns the practice, role and time their code stands for."""

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await load(req, CodeCheckSchema())
        grant = await self.runtime.call(appointments.check_code, self.services,
                                        bytes.fromhex(data["join_token"]), client_ip(req))
        resp.media = CodeCheckResultSchema().dump(grant)


class CodeConsent(Resource):
    """Anonymous: the patient gives the Einwilligung on the patient page, with the join token."""

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await load(req, CodeCheckSchema())
        grant = await self.runtime.call(appointments.record_patient_consent, self.services,
                                        bytes.fromhex(data["join_token"]), client_ip(req))
        resp.media = CodeCheckResultSchema().dump(grant)


async def on_sms_failed(req: Any, resp: Any, ex: SmsFailed, params: Any) -> None:
    problems.problem(resp, 502, appointments.MSG_SMS_FAILED, title="SMS-Versand fehlgeschlagen")


async def on_sms_unavailable(req: Any, resp: Any, ex: appointments.SmsUnavailable, params: Any) -> None:
    problems.problem(resp, 503, appointments.MSG_SMS_UNAVAILABLE)


COMMANDS: dict[str, tuple[type[Schema], Any, Any]] = {
    "reschedule": (RescheduleSchema, appointments.reschedule,
                   lambda d: (_utc(d["starts_at"]), d["duration_minutes"])),
    "cancel": (EmptySchema, appointments.cancel, lambda d: ()),
    "consent": (ConsentSchema, appointments.record_consent, lambda d: (_utc(d["given_at"]), d["method"])),
    "record": (RecordChangeSchema, appointments.change_record, lambda d: (d["record"],)),
    "codes": (ReissueSchema, appointments.reissue_codes, lambda d: (d["record"], _tokens(d))),
    "sms-invitations": (SmsInvitationSchema, appointments.send_sms_invitation,
                        lambda d: (d["invitation_id"], d["phone"], d["patient_code"], d["preview"])),
    "reminder": (ReminderSchema, appointments.request_reminder, lambda d: (d["phone"], d["minutes_before"])),
}


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_error_handler(SmsFailed, on_sms_failed)
    app.add_error_handler(appointments.SmsUnavailable, on_sms_unavailable)
    app.add_route("/api/v1/appointments", Appointments(runtime))
    app.add_route("/api/v1/appointments/{appointment_id}", OneAppointment(runtime))
    for name, (schema, use_case, arguments) in COMMANDS.items():
        app.add_route(f"/api/v1/appointments/{{appointment_id}}/{name}", Command(runtime, schema, use_case, arguments),
                      suffix=None)
    app.add_route("/api/v1/access-codes/check", CodeCheck(runtime))
    app.add_route("/api/v1/access-codes/consent", CodeConsent(runtime))


SUMMARIES = {
    "reschedule": "Termin verschieben", "cancel": "Termin absagen (Zugangscodes sofort ungültig)",
    "consent": "Einwilligung des Patienten erfassen", "record": "Patientendaten ändern (verschlüsselt)",
    "codes": "Zugangscodes neu ausstellen",
    "sms-invitations": "Einladung per SMS (Tarif plus; Nummer wird nicht gespeichert)",
    "reminder": "SMS-Erinnerung vor dem Termin (Tarif plus, Opt-in)",
}


def add_openapi(spec: APISpec) -> None:
    for name, schema in [
        # Reminder before Schedule, which nests it (apispec would otherwise register it under that name first).
        ("Reminder", ReminderSchema), ("Schedule", ScheduleSchema), ("Reschedule", RescheduleSchema),
        ("Consent", ConsentSchema), ("Reissue", ReissueSchema), ("RecordChange", RecordChangeSchema),
        ("SmsInvitation", SmsInvitationSchema),
        ("CodeCheck", CodeCheckSchema), ("Appointment", AppointmentSchema), ("CalendarPage", CalendarPageSchema),
        ("CodeCheckResult", CodeCheckResultSchema),
    ]:
        spec.components.schema(name, schema=schema)
    path_id = [{"name": "appointment_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    listing = [{"name": n, "in": "query", "required": False, "schema": {"type": t}}
               for n, t in (("day", "string"), ("week", "string"), ("limit", "integer"), ("offset", "integer"))]
    spec.path("/api/v1/appointments", operations={
        "post": operation("Termin anlegen (Konferenz mit weiteren Codes: Tarif plus)", "Schedule",
                          (201, "Appointment"), (400, 401, 403, 409), True),
        "get": operation("Termine eines Tages oder einer Woche", None, (200, "CalendarPage"), (400, 401), True,
                         listing),
    })
    spec.path("/api/v1/appointments/{appointment_id}", operations={"get": operation(
        "Termin anzeigen", None, (200, "Appointment"), (401, 404), True, path_id)})
    requests = {"reschedule": "Reschedule", "cancel": None, "consent": "Consent", "record": "RecordChange",
                "codes": "Reissue",
                "sms-invitations": "SmsInvitation", "reminder": "Reminder"}
    for name, request in requests.items():
        errors = (400, 401, 403, 404, 409, 502, 503) if name in ("sms-invitations", "reminder") else \
            (400, 401, 403, 404, 409) if name == "codes" else (400, 401, 404, 409)
        spec.path(f"/api/v1/appointments/{{appointment_id}}/{name}", operations={"post": operation(
            SUMMARIES[name], request, (200, "Appointment"), errors, True, path_id)})
    spec.path("/api/v1/access-codes/check", operations={"post": operation(
        "Zugangscode prüfen (Join-Token)", "CodeCheck", (200, "CodeCheckResult"), (400, 404, 429))})
    spec.path("/api/v1/access-codes/consent", operations={"post": operation(
        "Einwilligung der Patientin oder des Patienten erfassen (Join-Token)", "CodeCheck",
        (200, "CodeCheckResult"), (400, 403, 404, 409, 429))})
