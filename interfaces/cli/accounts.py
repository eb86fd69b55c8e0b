"""register, login, logout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from interfaces.cli.common import ORG_HELP, USER_HELP, CliError, client, login, secret, who
from interfaces.client.sdk import ApiError

SECRET_FIELDS = ("password", "password_repeat", "master_password", "master_password_repeat")


CREDENTIALS = {"org_short": "Kurzname der Organisation", "user_short": "Kurzname des Benutzers",
               "device_name": "Kurzname des Endgeräts"}


def read_form(name: str) -> dict[str, Any]:
    """The registration form from a file, refused with a German message when it is missing or is not the
    registration's JSON object (the server checks every other field)."""
    path = Path(name)
    try:
        form = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"Die Datei {name} gibt es nicht.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"Die Datei {name} kann nicht gelesen werden ({error.__class__.__name__}).") from None
    except json.JSONDecodeError as error:
        raise CliError(f"Die Datei {name} ist kein gültiges JSON (Zeile {error.lineno}, Spalte {error.colno}: "
                       f"{error.msg}).") from None
    if not isinstance(form, dict):
        raise CliError(f"Die Datei {name} muss ein JSON-Objekt mit den Angaben der Registrierung enthalten.")
    credentials = form.get("credentials")
    missing = {f"credentials.{key}": [f"{label}: Pflichtfeld."] for key, label in CREDENTIALS.items()
               if not isinstance(credentials, dict) or not isinstance(credentials.get(key), str)
               or not credentials[key].strip()}
    if missing:
        raise ApiError(400, f"Bitte die Zugangsdaten in {name} prüfen.", missing)
    return form


def cmd_register(args: argparse.Namespace) -> int:
    form = read_form(args.from_json)
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
    org, user = who(args)
    session = login(client(), org, user, secret("Passwort: "), accept_legal=args.accept_legal)
    print(f"Angemeldet als {session.user_short} ({session.role}) bei {session.org_short}.")
    if args.accept_legal:
        print("Zustimmung zu den aktuellen Fassungen von Nutzungsbedingungen und AVV erfasst.")
    for item in session.legal_pending:
        print(f"Neue Fassung zur Zustimmung: {item['document']} ({item['version']}), "
              f"zu lesen unter /rechtliches/{item['document']}; zustimmen mit `login --accept-legal`.")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    sdk = client()
    if not (sdk.store.session() or {}).get("token"):
        print("Nicht angemeldet.")
        return 0
    try:
        sdk.logout()
    except ApiError as error:
        if error.status != 401:  # 401: the session had already expired; the local copy is gone either way
            raise
    print("Abgemeldet.")
    return 0


def add_commands(sub: Any) -> None:
    r = sub.add_parser("register", help="Organisation registrieren")
    r.add_argument("--from-json", required=True, metavar="FILE",
                   help="Angaben wie im API-Aufruf, dazu password und master_password (verlassen nie diesen Rechner)")
    r.set_defaults(func=cmd_register)
    login = sub.add_parser("login", help="Anmelden (Passwort per Eingabe oder SPRECHZIMMER_PASSWORD); "
                                         "die Sitzung nutzen alle folgenden Befehle bis `logout`")
    login.add_argument("--org", help=ORG_HELP)
    login.add_argument("--user", help=USER_HELP)
    login.add_argument("--accept-legal", action="store_true",
                       help="neuen Fassungen von Nutzungsbedingungen und AVV zustimmen (nur Administratoren)")
    login.set_defaults(func=cmd_login)
    sub.add_parser("logout", help="Abmelden").set_defaults(func=cmd_logout)
