"""The `sprechzimmer` command: serve, register, login, logout, events."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from interfaces.client.sdk import ApiError, Client, TamperingDetected

DEFAULT_URL = "http://127.0.0.1:8000"


def _client() -> Client:
    return Client(os.environ.get("SPRECHZIMMER_URL", DEFAULT_URL))


def _password(prompt: str, env: str = "SPRECHZIMMER_PASSWORD") -> str:
    return os.environ.get(env) or getpass.getpass(prompt)


def cmd_serve(args: argparse.Namespace) -> int:
    from interfaces.server import serve

    serve(args.host, args.port, args.workers)
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    form: dict[str, Any] = json.loads(Path(args.from_json).read_text())
    secrets = {key: form.pop(key, "") for key in
               ("password", "password_repeat", "master_password", "master_password_repeat")}
    client = _client()
    result = client.register(form, secrets["password"], secrets["password_repeat"] or secrets["password"],
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
    client = _client()
    session = client.login(args.org, args.user, _password("Passwort: "))
    print(f"Angemeldet als {session.user_short} ({session.role}) bei {session.org_short}.")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    _client().logout()
    print("Abgemeldet.")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from interfaces.audit import replay

    return replay(sys.stdout, with_payload=args.payload, progress=sys.stderr.isatty())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sprechzimmer", description="Sprechzimmer – Videosprechstunde")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="Server starten (gunicorn mit uvicorn-Workern)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=None, help="Anzahl Worker (eingebettet: 1)")
    s.set_defaults(func=cmd_serve)
    r = sub.add_parser("register", help="Organisation registrieren")
    r.add_argument("--from-json", required=True, metavar="FILE")
    r.set_defaults(func=cmd_register)
    login = sub.add_parser("login", help="Anmelden")
    login.add_argument("--org", required=True)
    login.add_argument("--user", required=True)
    login.set_defaults(func=cmd_login)
    sub.add_parser("logout", help="Abmelden").set_defaults(func=cmd_logout)
    e = sub.add_parser("events", help="Alle Ereignisse der Reihe nach ausgeben (Prüfer)")
    e.add_argument("--payload", action="store_true", help="auch die entschlüsselten Nutzdaten ausgeben")
    e.set_defaults(func=cmd_events)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ApiError as error:
        print(f"Fehler: {error}", file=sys.stderr)
        return 1
    except TamperingDetected as error:
        print(f"Sicherheitswarnung: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
