"""sprechzimmer devices list|enroll|approve|rename|lock|unlock|revoke. Commands reuse the session of the last
login (the keyring is reopened from this device's grant and lives only in memory) and ask for the password
(SPRECHZIMMER_PASSWORD or a prompt) only when it has expired."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from interfaces.cli.common import ask, client, logged_in, login_options, org_of, secret, who
from interfaces.client import devices
from interfaces.client.recovery import recover

STATUS = {"pending": "wartet auf Freigabe", "approved": "freigegeben", "locked": "gesperrt",
          "revoked": "entfernt", "expired": "Anfrage abgelaufen"}


def cmd_list(args: argparse.Namespace) -> int:
    listing = devices.list_devices(logged_in(args))
    for d in listing["devices"]:
        print(f"{d['device_id']:24} {d['name']:28} {STATUS.get(d['status'], d['status']):20} "
              f"angefragt von {d['requested_by'] or '-'}")
    if listing["notices"]:
        print("Hinweise:")
        for n in listing["notices"]:
            print(f"  {n['at']} {n['kind']}: {n['device_name']} ({n['detail']})")
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    org, user = who(args)
    result = devices.enroll(client(), org, user, secret("Passwort: "), args.name)
    print("Freischaltung angefragt. Kopplungscode (nur hier angezeigt, am freigebenden Gerät eingeben):")
    print(f"  {result.pairing_code}")
    print(f"Geräte-ID: {result.device_id}. Die Anfrage gilt 24 Stunden.")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    if args.master_password:  # on the new device itself (§4.4 b)
        done = recover(client(), org_of(args), secret("Masterpasswort: ", "SPRECHZIMMER_MASTER_PASSWORD"))
        print(f"Dieses Gerät ({done.device_id}) ist mit dem Masterpasswort freigegeben. {done.keyring_stand()}.")
        return 0
    if not args.device_id:
        print("Bitte die Geräte-ID angeben (siehe `sprechzimmer devices list`).", file=sys.stderr)
        return 2
    c = logged_in(args)
    code = ask("Kopplungscode des neuen Geräts: ", "SPRECHZIMMER_PAIRING_CODE")
    devices.approve(c, args.device_id, code)
    print(f"Gerät {args.device_id} freigegeben.")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    devices.rename(logged_in(args), args.device_id, args.name)
    print(f"Gerät {args.device_id} heißt jetzt „{args.name}“.")
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    devices.set_locked(logged_in(args), args.device_id, args.command_name == "lock")
    print(f"Gerät {args.device_id} " + ("gesperrt." if args.command_name == "lock" else "entsperrt."))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    keyring = devices.revoke(logged_in(args), args.device_id)
    print(f"Gerät {args.device_id} entfernt; Schlüsselbund auf Version {keyring.version} erneuert.")
    return 0


def add_commands(sub: Any) -> None:
    d = sub.add_parser("devices", help="Arbeitsplätze/Endgeräte").add_subparsers(dest="action", required=True)
    p = d.add_parser("list", help="Geräte und Sicherheitshinweise anzeigen")
    login_options(p)
    p.set_defaults(func=cmd_list)
    p = d.add_parser("enroll", help="Dieses Gerät zur Freischaltung anmelden")
    login_options(p)
    p.add_argument("--name", required=True, help="Gerätename, z. B. „Sprechzimmer 1“")
    p.set_defaults(func=cmd_enroll)
    p = d.add_parser("approve", help="Gerät freigeben (Kopplungscode per Eingabe oder SPRECHZIMMER_PAIRING_CODE)")
    login_options(p, "Kurzname des freigebenden Administrators (Standard: aus der letzten Anmeldung)")
    p.add_argument("--master-password", action="store_true",
                   help="dieses (neue) Gerät mit dem Masterpasswort freigeben")
    p.add_argument("device_id", nargs="?")
    p.set_defaults(func=cmd_approve)
    p = d.add_parser("rename", help="Gerät umbenennen")
    login_options(p)
    p.add_argument("device_id")
    p.add_argument("name")
    p.set_defaults(func=cmd_rename)
    for name, help_text in (("lock", "Gerät sperren"), ("unlock", "Gerät entsperren")):
        p = d.add_parser(name, help=help_text)
        login_options(p)
        p.add_argument("device_id")
        p.set_defaults(func=cmd_lock, command_name=name)
    p = d.add_parser("revoke", help="Gerät entfernen und Schlüsselbund erneuern")
    login_options(p)
    p.add_argument("device_id")
    p.set_defaults(func=cmd_revoke)
