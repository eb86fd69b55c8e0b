"""The end-to-end encrypted record and the calendar read model: what the server stores and logs, what a
swapping server achieves (nothing but a warning), listing by day and week with paging, rebuilds."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from interfaces.client import appointments as ap
from interfaces.client.sdk import ApiError, Client, TamperingDetected
from sprechzimmer_protocol.records import RecordEnvelope
from tests.appointments.conftest import SmsGatewayServer
from tests.conftest import Clock, LiveServer

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Berlin, ISO week 2026-W49
PATIENTS = [
    ("Jörg Böhm", "joerg.boehm@example.org", "0151 23456789", ("+4915123456789", "0151 23456789")),
    ("Erika Quellenstein-Mustermann", "erika.q@example.org", "+49 (170) 9876-5432",
     ("+491709876543", "+49 (170) 9876-5432", "9876-5432")),
]


def _stored_text(server: LiveServer) -> list[bytes]:
    """Every byte the server keeps: the SQLite files (with WAL), or every PostgreSQL table as text."""
    settings = server.settings
    if settings.database_url is None:
        return [path.read_bytes() for path in settings.data_dir.rglob("*") if path.is_file()]
    dumps = []
    with psycopg.connect(settings.database_url) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'public'").fetchall()]
        assert {"rm_appointments", "reminder_numbers"} <= set(tables)
        for table in tables:
            rows = conn.execute(f'SELECT CAST(t AS text) FROM "{table}" t').fetchall()
            dumps.append("\n".join(r[0] for r in rows).encode())
    return dumps


def test_no_patient_name_or_number_in_storage_or_logs(server: LiveServer, practice: Callable[..., Client],
                                                      clock: Clock, sms_gateway: SmsGatewayServer,
                                                      caplog: pytest.LogCaptureFixture,
                                                      capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    clock.set(START - timedelta(days=1))
    client = practice("plus")
    created = []
    for name, email, phone, _ in PATIENTS:
        appointment = ap.add(client, START, 30, name, email=email, phone=phone, note=f"Rückruf an {name}")
        ap.request_reminder(client, appointment.appointment_id, minutes_before=60)
        ap.send_sms_invitation(client, appointment.appointment_id)
        created.append(appointment)
    assert len(sms_gateway.received) == 2  # the numbers did pass through once, as they must
    assert [ap.show(client, a.appointment_id).patient.name for a in created] == [p[0] for p in PATIENTS]

    stored = _stored_text(server)
    everything = b"\n".join(stored)
    assert created[0].appointment_id.encode() in everything  # the scan does see the calendar rows
    out, err = capfd.readouterr()
    logs = caplog.text + out + err
    for name, email, _, numbers in PATIENTS:
        secrets = [name, name.split()[-1], email, *numbers]
        for secret in secrets:
            for form in (secret.encode(), secret.encode().hex().encode()):
                assert form not in everything, f"{secret!r} stored in clear"
            assert secret not in logs, f"{secret!r} logged"
    codes = [code for a in created for code in a.patient.codes.values()]
    for code in codes:
        assert code.encode() not in everything and code not in logs


def test_swapped_records_are_detected_by_the_client(server: LiveServer, practice: Callable[..., Client],
                                                    clock: Clock) -> None:
    clock.set(START - timedelta(days=1))
    client = practice()
    first = ap.add(client, START, 30, "Jörg Böhm")
    second = ap.add(client, START + timedelta(hours=1), 30, "Erika Mustermann")

    # A malicious server swaps the ciphertexts of the two appointments in its calendar.
    with server.container.state_db.transaction() as cur:
        rows = dict(cur.execute("SELECT appointment_id, record FROM rm_appointments").fetchall())
        for mine, theirs in ((first, second), (second, first)):
            cur.execute("UPDATE rm_appointments SET record = %s WHERE appointment_id = %s",
                        (rows[theirs.appointment_id], mine.appointment_id))
    with pytest.raises(TamperingDetected):
        list(ap.listing(client, day=date(2026, 12, 1)))

    # Each half of the record is bound on its own: the wrapped key and the payload.
    keyring = client.session.keyring  # type: ignore[union-attr]
    a = ap.seal_record(keyring, first.appointment_id, first.patient)
    b = ap.seal_record(keyring, second.appointment_id, second.patient)
    assert ap.open_record(keyring, first.appointment_id, a).name == "Jörg Böhm"
    for forged in ({**a, "ciphertext": b["ciphertext"]}, {**a, "wrapped_dek": b["wrapped_dek"]}, b,
                   {**a, "schema": 2}):
        with pytest.raises(TamperingDetected):
            ap.open_record(keyring, first.appointment_id, forged)


def test_calendar_by_day_and_week_with_paging_and_rebuild(server: LiveServer, practice: Callable[..., Client],
                                                          clock: Clock) -> None:
    clock.set(START - timedelta(days=1))
    client = practice()
    berlin = ap.BERLIN
    on_day = [ap.add(client, datetime(2026, 12, 1, hour, 0, tzinfo=berlin), 20, f"Patient {hour}")
              for hour in (15, 8, 11)]
    late = ap.add(client, datetime(2026, 12, 1, 23, 30, tzinfo=berlin), 20, "Spät")
    after_midnight = ap.add(client, datetime(2026, 12, 2, 0, 30, tzinfo=berlin), 20, "Nach Mitternacht")
    next_week = ap.add(client, datetime(2026, 12, 7, 9, 0, tzinfo=berlin), 20, "Nächste Woche")
    cancelled = ap.add(client, datetime(2026, 12, 3, 9, 0, tzinfo=berlin), 20, "Abgesagt")
    ap.cancel(client, cancelled.appointment_id)
    ap.record_consent(client, on_day[1].appointment_id, "schriftlich", datetime(2026, 11, 30, 12, 0, tzinfo=UTC))

    day = list(ap.listing(client, day=date(2026, 12, 1)))
    assert [a.patient.name for a in day] == ["Patient 8", "Patient 11", "Patient 15", "Spät"]
    assert day[0].starts_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert day[0].ends_at == datetime(2026, 12, 1, 7, 20, tzinfo=UTC)
    assert day[0].consent == {"given_at": "2026-11-30T12:00:00+00:00", "method": "schriftlich"}
    assert [a.patient.name for a in ap.listing(client, day=date(2026, 12, 2))] == ["Nach Mitternacht"]

    first = ap.page(client, week="2026-W49", limit=2)
    assert first.total == 6 and len(first.items) == 2 and first.next_offset == 2
    third = ap.page(client, week="2026-W49", limit=2, offset=4)
    assert third.next_offset is None
    week = list(ap.listing(client, week="2026-W49", page_size=2))
    assert [a.appointment_id for a in week] == [a.appointment_id for a in
                                                [on_day[1], on_day[2], on_day[0], late, after_midnight, cancelled]]
    assert [a.status for a in week][-1] == "cancelled"
    assert [a.appointment_id for a in ap.listing(client, week="2026-W50")] == [next_week.appointment_id]

    server.container.projections.rebuild()
    assert [a.appointment_id for a in ap.listing(client, week="2026-W49")] == [a.appointment_id for a in week]
    shown = ap.show(client, on_day[1].appointment_id)
    assert shown.consent is not None and shown.consent["method"] == "schriftlich"

    edited = ap.edit(client, on_day[1].appointment_id, name="Patient 8 (geändert)", note="Befund mitbringen")
    assert edited.patient.codes == shown.patient.codes and edited.patient.note == "Befund mitbringen"
    assert next(a.patient.name for a in ap.listing(client, day=date(2026, 12, 1))) == "Patient 8 (geändert)"


@pytest.mark.parametrize("path,body", [
    ("", {"appointment_id": "x", "starts_at": 5, "duration_minutes": "30", "record": [], "join_tokens": None}),
    ("", {"appointment_id": "5d0f8f0e-4b8e-4a53-9d5e-0a4b0b1c2d3e", "starts_at": "2026-12-01T10:00:00+01:00",
          "duration_minutes": 30, "record": {"kver": 1, "wrapped_dek": "AB", "ciphertext": "00", "schema": 1},
          "join_tokens": {"practitioner": "00" * 32, "patient": "00" * 32}}),
    ("", {"extra": 1}),
    ("/{id}/reschedule", {"starts_at": "morgen", "duration_minutes": 10**12}),
    ("/{id}/consent", {"given_at": None, "method": ["schriftlich"]}),
    ("/{id}/codes", {"record": {"kver": 0}, "join_tokens": {"patient": "zz"}}),
    ("/{id}/record", {"record": "geheim"}),
    ("/{id}/sms-invitations", {"invitation_id": 7, "phone": "", "patient_code": None}),
    ("/{id}/reminder", {"phone": "0151 23456789", "minutes_before": 1}),
    ("/{id}/cancel", {"unexpected": True}),
])
def test_malformed_bodies_get_a_german_400(server: LiveServer, practice: Callable[..., Client], clock: Clock,
                                           path: str, body: dict[str, object]) -> None:
    clock.set(START - timedelta(days=1))
    client = practice()
    appointment = ap.add(client, START, 30, "Jörg Böhm")
    with pytest.raises(ApiError) as err:
        client.request("POST", "/api/v1/appointments" + path.format(id=appointment.appointment_id), body, auth=True)
    assert err.value.status == 400 and err.value.errors, err.value
    assert client.session is not None
    response = client.http.post("/api/v1/appointments" + path.format(id=appointment.appointment_id),
                                content=b"{kein json", headers={"Content-Type": "application/json",
                                                               "Authorization": f"Bearer {client.session.token}"})
    assert response.status_code == 400


def test_bad_input_gets_german_4xx(server: LiveServer, practice: Callable[..., Client], clock: Clock) -> None:
    clock.set(START - timedelta(days=1))
    client = practice()
    for query, field in (("", "day"), ("day=2026-13-01", "day"), ("week=2026-W60", "week"),
                         ("day=2026-12-01&limit=0", "limit")):
        with pytest.raises(ApiError) as err:
            client.request("GET", f"/api/v1/appointments?{query}", auth=True)
        assert err.value.status == 400 and field in err.value.errors
    appointment = ap.add(client, START, 30, "Jörg Böhm")
    with pytest.raises(ApiError) as err:
        ap.reschedule(client, appointment.appointment_id, START, 2)
    assert err.value.status == 400 and "duration_minutes" in err.value.errors
    with pytest.raises(ApiError) as err:
        client.request("POST", f"/api/v1/appointments/{appointment.appointment_id}/reschedule",
                       {"starts_at": "2026-12-01T10:00:00", "duration_minutes": 30}, auth=True)
    assert err.value.status == 400 and "starts_at" in err.value.errors
    with pytest.raises(ApiError) as err:
        ap.record_consent(client, appointment.appointment_id, "telepathisch")
    assert err.value.status == 400 and "method" in err.value.errors
    for missing in ("00000000-0000-0000-0000-000000000000", "kein-termin"):
        with pytest.raises(ApiError) as err:
            client.request("GET", f"/api/v1/appointments/{missing}", auth=True)
        assert err.value.status == 404
    with pytest.raises(ApiError) as err:  # a second appointment with the same codes: refused by the store
        client.request("POST", "/api/v1/appointments", {
            "appointment_id": "5d0f8f0e-4b8e-4a53-9d5e-0a4b0b1c2d3e", "starts_at": START.isoformat(),
            "duration_minutes": 30, "record": ap.seal_record(client.session.keyring,  # type: ignore[union-attr]
                                                             "5d0f8f0e-4b8e-4a53-9d5e-0a4b0b1c2d3e",
                                                             appointment.patient),
            "join_tokens": ap.join_tokens(appointment.patient.codes)}, auth=True)
    assert err.value.status == 409 and "join_tokens" in err.value.errors
    with pytest.raises(ApiError) as err:
        ap.cancel(client, appointment.appointment_id) and ap.cancel(client, appointment.appointment_id)
    assert err.value.status == 409


def test_records_of_a_newer_client_are_read_tolerantly_and_keep_its_keys(
        server: LiveServer, practice: Callable[..., Client], clock: Clock) -> None:
    """§8a.3: a key this SDK does not know survives its edit; a known key of the wrong type is "manipuliert";
    a raised schema (an incompatible change) is refused with a German hint to update."""
    clock.set(START - timedelta(days=1))
    client = practice()
    created = ap.add(client, START, 30, "Jörg Böhm")
    keyring = client.session.keyring  # type: ignore[union-attr]
    newer = {**created.patient.to_json(), "versicherung": {"kasse": "AOK Bayern", "art": "gesetzlich"}}

    def write(payload: dict[str, object], schema: int = ap.SCHEMA) -> None:
        envelope = RecordEnvelope.seal(keyring, created.appointment_id, ap.FIELD, schema,
                                       json.dumps(payload).encode())
        client.request("POST", f"/api/v1/appointments/{created.appointment_id}/record",
                       {"record": envelope.to_wire()}, auth=True)

    write(newer)  # as a newer client would
    edited = ap.edit(client, created.appointment_id, note="Rückruf erbeten")
    assert edited.patient.note == "Rückruf erbeten"
    raw = client.request("GET", f"/api/v1/appointments/{created.appointment_id}", auth=True)["record"]
    stored = json.loads(RecordEnvelope.from_wire(raw).open(keyring, created.appointment_id, ap.FIELD, "x"))
    assert stored["versicherung"] == {"kasse": "AOK Bayern", "art": "gesetzlich"}
    assert stored["note"] == "Rückruf erbeten" and stored["name"] == "Jörg Böhm"

    write({**newer, "name": 5})
    with pytest.raises(TamperingDetected):
        ap.show(client, created.appointment_id)
    write(newer, schema=ap.SCHEMA + 1)
    with pytest.raises(ApiError) as newer_schema:
        ap.show(client, created.appointment_id)
    assert newer_schema.value.detail == ap.MSG_NEWER_SCHEMA
