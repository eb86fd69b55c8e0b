"""register, login, logout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from interfaces.cli.common import client, secret

SECRET_FIELDS = ("password", "password_repeat", "master_password", "master_password_repeat")


def cmd_register(args: argparse.Namespace) -> int:
    form: dict[str, Any] = json.loads(Path(args.from_json).read_text())
    secrets = {key: form.pop(key, "") for key in SECRET_FIELDS}
    result = client().register(form, secrets["password"], secrets["password_repeat"] or secrets["password"],
                               secrets["master_password"],
                               secrets["master_password_repeat"] or secrets["master_password"])
    print("Registrierung abgeschlossen.")
    print(f"  Kurzname der Organisation: {result['org_short']}")
    print(f"  Kurzname des Benutzers:    {result['user_short']}")
    print(f"  Kurzname des Endgeräts:    {form['credentials']['device_name']}")
    print(f"  Tarif:                     {result['plan']}")
    if result.get("mandate_reference"):
        print(f"  Mandatsreferenz:           {result['mandate_reference']}")
    print("Bitte notieren Sie Ihre Zugangsdaten und das Masterpasswort und verwahren Sie sie sicher.")
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    session = client().login(args.org, args.user, secret("Passwort: "))
    print(f"Angemeldet als {session.user_short} ({session.role}) bei {session.org_short}.")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    client().logout()
    print("Abgemeldet.")
    return 0


def add_commands(sub: Any) -> None:
    r = sub.add_parser("register", help="Organisation registrieren")
    r.add_argument("--from-json", required=True, metavar="FILE",
                   help="Angaben wie im API-Aufruf, dazu password und master_password (verlassen nie diesen Rechner)")
    r.set_defaults(func=cmd_register)
    login = sub.add_parser("login", help="Anmelden (Passwort per Eingabe oder SPRECHZIMMER_PASSWORD)")
    login.add_argument("--org", required=True)
    login.add_argument("--user", required=True)
    login.set_defaults(func=cmd_login)
    sub.add_parser("logout", help="Abmelden").set_defaults(func=cmd_logout)
