"""sprechzimmer appointments add|list|show|reschedule|cancel|consent|reissue-codes|invite.

The patient data is decrypted on this machine with the organisation's keyring, which every command reopens
from this device's grant in the session of the last login (a fresh login with SPRECHZIMMER_PASSWORD or a
prompt only when it has expired); the keyring is never written to disk."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path
from typing import Any

from domain.appointment import CONSENT_METHODS
from interfaces.cli.common import logged_in as _logged_in
from interfaces.cli.common import login_options
from interfaces.client import appointments as ap
from interfaces.client.sdk import ApiError


def now() -> datetime:
    return datetime.now(ap.BERLIN)


def today() -> date:
    """The default day of `list` is the German calendar day, also on a machine whose clock runs in UTC."""
    return now().astimezone(ap.BERLIN).date()


def _moment(text: str) -> datetime:
    """ISO with offset, or a local wall-clock time in Berlin such as "2026-12-01 10:00"."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"Unbekanntes Zeitformat: {text!r} (Beispiel: 2026-12-01 10:00).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ap.BERLIN)


def _print(a: ap.Appointment, details: bool = False) -> None:
    local = a.starts_at.astimezone(ap.BERLIN)
    status = "" if a.status == "scheduled" else "  [abgesagt]"
    print(f"{local:%d.%m.%Y %H:%M} {a.duration_minutes:>3} min  {a.patient.name}  ({a.appointment_id}){status}")
    if details:
        for label, value in (("E-Mail", a.patient.email), ("Telefon", a.patient.phone), ("Notiz", a.patient.note)):
            if value:
                print(f"  {label}: {value}")
        print(f"  Zugangscode Behandler: {a.patient.codes.get('practitioner')}")
        print(f"  Zugangscode Patient:   {a.patient.codes.get('patient')}")
        for number, slot in enumerate(a.patient.participants[1:], start=2):
            print(f"  Zugangscode Teilnehmer {number}: {a.patient.codes[slot]}")
        if a.patient.call_code:
            print(f"  Konferenzcode (für alle, auch die Praxis: --call-code): {a.patient.call_code}")
        if a.consent:
            print(f"  Einwilligung: {a.consent['method']} am {a.consent['given_at']}")
        if isinstance(a.reminder, dict):
            print(f"  SMS-Erinnerung: {a.reminder['minutes_before']} Minuten vorher")


def cmd_add(args: argparse.Namespace) -> int:
    c = _logged_in(args)
    appointment = ap.add(c, _moment(args.start), args.duration, args.name, args.email, args.phone, args.note,
                         participants=args.participants, reminder_minutes=args.reminder)
    print("Termin angelegt.")
    _print(appointment, details=True)
    if appointment.sms:
        print("  Die Erinnerungs-SMS hat " + ap.sms_size(appointment.sms) + ".")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    c = _logged_in(args)
    day = date.fromisoformat(args.day) if args.day else None if args.week else today()
    found = list(ap.listing(c, day=day, week=args.week))
    for appointment in found:
        _print(appointment)
    if not found:
        print("Keine Termine.")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    _print(ap.show(_logged_in(args), args.id), details=True)
    return 0


def cmd_reschedule(args: argparse.Namespace) -> int:
    c = _logged_in(args)
    duration = args.duration or ap.show(c, args.id).duration_minutes
    _print(ap.reschedule(c, args.id, _moment(args.start), duration))
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    changes = {k: getattr(args, k) for k in ("name", "email", "phone", "note") if getattr(args, k) is not None}
    _print(ap.edit(_logged_in(args), args.id, **changes), details=True)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    ap.cancel(_logged_in(args), args.id)
    print("Termin abgesagt; die Zugangscodes gelten nicht mehr.")
    return 0


def cmd_consent(args: argparse.Namespace) -> int:
    c = _logged_in(args)
    _print(ap.record_consent(c, args.id, args.method, _moment(args.at) if args.at else None), details=True)
    return 0


def cmd_reissue(args: argparse.Namespace) -> int:
    appointment = ap.reissue_codes(_logged_in(args), args.id)
    print("Neue Zugangscodes ausgestellt; die bisherigen gelten nicht mehr.")
    _print(appointment, details=True)
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    c = _logged_in(args)
    appointment = ap.show(c, args.id)
    if args.sms:
        print(ap.SMS_NOTICE)
        preview = ap.send_sms_invitation(c, args.id, args.phone, preview=True)
        if preview.sms:
            print("Die SMS hat " + ap.sms_size(preview.sms) + ".")
        ap.send_sms_invitation(c, args.id, args.phone)
        print("Einladung per SMS versandt.")
        return 0
    slot = "patient" if args.participant == 1 else f"patient-{args.participant}"
    invitation = ap.invitation(c, appointment, args.practice, participant=slot, name=args.name, email=args.email)
    print(f"Betreff: {invitation.subject}\n\n{invitation.body}\nmailto-Link:\n{invitation.mailto}")
    if args.ics:
        Path(args.ics).write_bytes(invitation.ics)
        print(f"Kalenderdatei gespeichert: {args.ics}")
    return 0


def add_commands(sub: Any) -> None:
    group = sub.add_parser("appointments", help="Termine verwalten").add_subparsers(dest="action", required=True)

    def command(name: str, help_text: str, func: Any, with_id: bool = True) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(name, help=help_text)
        login_options(p)
        if with_id:
            p.add_argument("id", help="Termin-ID")
        p.set_defaults(func=func)
        return p

    add = command("add", "Termin anlegen", cmd_add, with_id=False)
    add.add_argument("--start", required=True, help='Beginn, z. B. "2026-12-01 10:00" (deutsche Zeit)')
    add.add_argument("--duration", type=int, default=30, help="Dauer in Minuten")
    add.add_argument("--name", required=True, help="Name des Patienten (nur verschlüsselt gespeichert)")
    add.add_argument("--email")
    add.add_argument("--phone")
    add.add_argument("--note")
    add.add_argument("--reminder", type=int, metavar="MINUTEN", help="SMS-Erinnerung so viele Minuten vorher")
    add.add_argument("--participants", type=int, default=1, metavar="N",
                     help=f"eingeladene Teilnehmende ohne Behandler (1–{ap.MAX_PARTICIPANTS}; ab 2 eine Konferenz "
                          "mit eigenem Code je Teilnehmendem und gemeinsamem Konferenzcode, Tarif plus)")
    listing = command("list", "Termine eines Tages oder einer Woche", cmd_list, with_id=False)
    listing.add_argument("--day", help="JJJJ-MM-TT (Standard: heute)")
    listing.add_argument("--week", help="JJJJ-Www, z. B. 2026-W49")
    command("show", "Termin mit Zugangscodes anzeigen", cmd_show)
    move = command("reschedule", "Termin verschieben", cmd_reschedule)
    move.add_argument("--start", required=True)
    move.add_argument("--duration", type=int)
    edit = command("edit", "Patientendaten ändern", cmd_edit)
    for name in ("name", "email", "phone", "note"):
        edit.add_argument(f"--{name}")
    command("cancel", "Termin absagen", cmd_cancel)
    consent = command("consent", "Einwilligung erfassen", cmd_consent)
    consent.add_argument("--method", required=True, choices=CONSENT_METHODS)
    consent.add_argument("--at", help="Zeitpunkt der Einwilligung (Standard: jetzt)")
    command("reissue-codes", "Zugangscodes neu ausstellen", cmd_reissue)
    invite = command("invite", "Einladung: E-Mail-Text, mailto-Link, .ics; oder per SMS (plus)", cmd_invite)
    invite.add_argument("--ics", metavar="DATEI", help="Kalenderdatei (.ics) hierhin schreiben")
    invite.add_argument("--practice", help="Name der Praxis im Text (Standard: Kurzname)")
    invite.add_argument("--sms", action="store_true", help="per SMS über den Server senden (Tarif plus)")
    invite.add_argument("--phone", help="Telefonnummer für die SMS (Standard: aus dem Termin)")
    invite.add_argument("--participant", type=int, default=1, metavar="N",
                        help="Einladung für Teilnehmenden Nr. N einer Konferenz (Standard: 1, der Patient)")
    invite.add_argument("--name", help="Name im Gruß (weitere Teilnehmende stehen nicht im Termin)")
    invite.add_argument("--email", help="E-Mail-Adresse für den mailto-Link")
