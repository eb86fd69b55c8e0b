"""sprechzimmer devices list|enroll|approve|rename|lock|unlock|revoke. Commands that sign with the
organisation key log in first (password from SPRECHZIMMER_PASSWORD or a prompt), because the keyring
lives only in memory."""

from __future__ import annotations

import argparse
import os
from typing import Any

from interfaces.cli.common import client, secret
from interfaces.client import devices
from interfaces.client.recovery import recover
from interfaces.client.sdk import Client

STATUS = {"pending": "wartet auf Freigabe", "approved": "freigegeben", "locked": "gesperrt",
          "revoked": "entfernt", "expired": "Anfrage abgelaufen"}


def logged_in_client(args: argparse.Namespace) -> Client:
    c = client()
    c.login(args.org, args.user, secret("Passwort: "))
    return c


def cmd_list(args: argparse.Namespace) -> int:
    listing = devices.list_devices(logged_in_client(args))
    for d in listing["devices"]:
        print(f"{d['device_id']:24} {d['name']:28} {STATUS.get(d['status'], d['status']):20} "
              f"angefragt von {d['requested_by'] or '-'}")
    if listing["notices"]:
        print("Hinweise:")
        for n in listing["notices"]:
            print(f"  {n['at']} {n['kind']}: {n['device_name']} ({n['detail']})")
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    result = devices.enroll(client(), args.org, args.user, secret("Passwort: "), args.name)
    print("Freischaltung angefragt. Kopplungscode (nur hier angezeigt, am freigebenden Gerät eingeben):")
    print(f"  {result.pairing_code}")
    print(f"Geräte-ID: {result.device_id}. Die Anfrage gilt 24 Stunden.")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    if args.master_password:  # on the new device itself (§4.4 b)
        done = recover(client(), args.org, secret("Masterpasswort: ", "SPRECHZIMMER_MASTER_PASSWORD"))
        print(f"Dieses Gerät ({done.device_id}) ist mit dem Masterpasswort freigegeben.")
        return 0
    if not args.device_id or not args.user:
        print("Bitte --user und die Geräte-ID angeben (siehe `sprechzimmer devices list`).")
        return 2
    c = logged_in_client(args)
    code = os.environ.get("SPRECHZIMMER_PAIRING_CODE") or input("Kopplungscode des neuen Geräts: ")
    devices.approve(c, args.device_id, code)
    print(f"Gerät {args.device_id} freigegeben.")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    devices.rename(logged_in_client(args), args.device_id, args.name)
    print(f"Gerät {args.device_id} heißt jetzt „{args.name}“.")
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    devices.set_locked(logged_in_client(args), args.device_id, args.command_name == "lock")
    print(f"Gerät {args.device_id} " + ("gesperrt." if args.command_name == "lock" else "entsperrt."))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    keyring = devices.revoke(logged_in_client(args), args.device_id)
    print(f"Gerät {args.device_id} entfernt; Schlüsselbund auf Version {keyring.version} erneuert.")
    return 0


def _login_args(p: Any) -> None:
    p.add_argument("--org", required=True, help="Kurzname der Organisation")
    p.add_argument("--user", required=True, help="Kurzname des Benutzers")


def add_commands(sub: Any) -> None:
    d = sub.add_parser("devices", help="Arbeitsplätze/Endgeräte").add_subparsers(dest="action", required=True)
    p = d.add_parser("list", help="Geräte und Sicherheitshinweise anzeigen")
    _login_args(p)
    p.set_defaults(func=cmd_list)
    p = d.add_parser("enroll", help="Dieses Gerät zur Freischaltung anmelden")
    _login_args(p)
    p.add_argument("--name", required=True, help="Gerätename, z. B. „Sprechzimmer 1“")
    p.set_defaults(func=cmd_enroll)
    p = d.add_parser("approve", help="Gerät freigeben (Kopplungscode per Eingabe oder SPRECHZIMMER_PAIRING_CODE)")
    p.add_argument("--org", required=True)
    p.add_argument("--user", help="Kurzname des freigebenden Administrators")
    p.add_argument("--master-password", action="store_true",
                   help="dieses (neue) Gerät mit dem Masterpasswort freigeben")
    p.add_argument("device_id", nargs="?")
    p.set_defaults(func=cmd_approve)
    p = d.add_parser("rename", help="Gerät umbenennen")
    _login_args(p)
    p.add_argument("device_id")
    p.add_argument("name")
    p.set_defaults(func=cmd_rename)
    for name, help_text in (("lock", "Gerät sperren"), ("unlock", "Gerät entsperren")):
        p = d.add_parser(name, help=help_text)
        _login_args(p)
        p.add_argument("device_id")
        p.set_defaults(func=cmd_lock, command_name=name)
    p = d.add_parser("revoke", help="Gerät entfernen und Schlüsselbund erneuern")
    _login_args(p)
    p.add_argument("device_id")
    p.set_defaults(func=cmd_revoke)
