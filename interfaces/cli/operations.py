"""serve, worker, events."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    from interfaces.server import serve

    serve(args.host, args.port, args.workers)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from interfaces.server import work

    work()
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from interfaces.audit import replay
    from interfaces.cli.audit import record_payload_access

    if args.payload:
        record_payload_access()
    return replay(sys.stdout, with_payload=args.payload, progress=sys.stderr.isatty(), errors=sys.stderr)


def add_commands(sub: Any) -> None:
    s = sub.add_parser("serve", help="Server starten (gunicorn mit uvicorn-Workern)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=None, help="Anzahl Worker (eingebettet immer 1)")
    s.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="Projektionen und geplante Aufgaben ausführen (PostgreSQL-Betrieb)").set_defaults(
        func=cmd_worker)
    e = sub.add_parser("events", help="Alle Ereignisse der Reihe nach als JSON-Zeilen ausgeben (Prüfer)")
    e.add_argument("--payload", action="store_true", help="auch die entschlüsselten Nutzdaten ausgeben")
    e.set_defaults(func=cmd_events)
