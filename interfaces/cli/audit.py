"""`sprechzimmer audit verify|checkpoint` (issue 14): the operator's and the auditor's view of the audit chain."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from application import audit


def _container() -> Any:
    from interfaces.bootstrap import build

    return build(catch_up_after_save=False)


def cmd_verify(args: argparse.Namespace) -> int:
    exported: list[tuple[str, audit.StoredCheckpoint]] = []
    for path in args.checkpoint or []:
        try:
            exported.append((f"Exportierter Prüfpunkt ({Path(path).name})",
                             audit.load_exported(Path(path).read_text(encoding="utf-8"))))
        except OSError as error:
            print(f"Fehler: Prüfpunkt-Datei {path} nicht lesbar ({error.strerror})", file=sys.stderr)
            return 2
        except ValueError as error:
            print(f"Fehler: {path}: {error}", file=sys.stderr)
            return 2
    from infrastructure import crypto

    container = _container()
    try:
        chain = container.chain
        checkpoints = [("Prüfpunkt", cp) for cp in chain.checkpoints()] + exported
        entries = chain.entries()
        if sys.stderr.isatty() or args.progress:
            from tqdm import tqdm

            entries = tqdm(entries, total=chain.count(), unit=" Ereignisse", file=sys.stderr, leave=False,
                           desc="Prüfe Kette")
        report = audit.verify(entries, checkpoints, crypto.verify,
                              lambda: audit.Erasures(chain.tombstone_receipts(), frozenset(chain.receipts())))
    finally:
        container.close()
    summary = (f"{report.events} Ereignisse, {report.tombstones} gelöschte (Grabsteine), "
               f"{report.checkpoints} signierte Prüfpunkte, bis Position {report.position}, "
               f"Kopf {report.head.hex()}")
    if report.intact:
        print(f"Verlauf unverändert: {summary}")
        return 0
    first = report.first
    assert first is not None
    print(f"VERLAUF VERÄNDERT – erste Abweichung bei Position {first.position}: {first.text}", file=sys.stderr)
    for finding in sorted(report.findings, key=lambda f: f.position)[1:20]:
        print(f"  außerdem: {finding.text}", file=sys.stderr)
    if len(report.findings) > 20:
        print(f"  … und {len(report.findings) - 20} weitere Abweichungen", file=sys.stderr)
    print(f"Geprüft: {summary}", file=sys.stderr)
    return 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    container = _container()
    try:
        chain, key = container.chain, container.audit_key
        latest = audit.latest_checkpoint(chain)
        if latest is None or latest.position != chain.head()[0]:
            latest = audit.take_checkpoint(chain, key, container.services.clock(), force=True) or latest
    finally:
        container.close()
    if latest is None:
        print("Fehler: Noch keine Ereignisse – es gibt nichts zu signieren.", file=sys.stderr)
        return 1
    text = json.dumps(latest.to_json(), indent=2) + "\n"
    if args.export:
        try:
            Path(args.export).write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"Fehler: {args.export} nicht schreibbar ({error.strerror})", file=sys.stderr)
            return 1
        print(f"Prüfpunkt an Position {latest.position} vom {latest.when()} nach {args.export} geschrieben.")
    else:
        sys.stdout.write(text)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    container = _container()
    try:
        tokens = container.auditor_tokens
        if args.token_command == "issue":
            name = args.name.strip()
            if not name or len(name) > 100:
                print("Fehler: Bitte einen Namen mit 1 bis 100 Zeichen angeben.", file=sys.stderr)
                return 2
            record, token = tokens.issue(name)
            print(f"Prüfer-Token {record.token_id} für „{name}“ (nur jetzt sichtbar, nur Lesezugriff auf "
                  f"/api/v1/audit/…):\n{token}")
            return 0
        if args.token_command == "list":
            for t in tokens.list():
                created = datetime.fromtimestamp(t.created_at, audit.BERLIN).strftime("%d.%m.%Y %H:%M")
                state = "widerrufen " + datetime.fromtimestamp(t.revoked_at, audit.BERLIN).strftime(
                    "%d.%m.%Y %H:%M") if t.revoked_at else "gültig"
                print(f"{t.token_id}  {t.name}  ausgestellt {created}  {state}")
            return 0
        if not tokens.revoke(args.token_id):
            print(f"Fehler: Kein gültiges Prüfer-Token {args.token_id}.", file=sys.stderr)
            return 1
        print(f"Prüfer-Token {args.token_id} widerrufen.")
        return 0
    finally:
        container.close()


def record_payload_access() -> None:
    """`events --payload` decrypts what only the practices should read: each use becomes a chained audit event
    (who, when, which positions) before anything is decrypted."""
    import getpass
    import socket

    from domain.audit import PayloadDisclosure

    container = _container()
    try:
        services = container.services
        services.events.save(PayloadDisclosure.record(f"{getpass.getuser()}@{socket.gethostname()}",
                                                      services.clock().isoformat(timespec="seconds"), 1,
                                                      services.events.position()))
    finally:
        container.close()


def cmd_log(args: argparse.Namespace) -> int:
    """The practice's access log, opened on this device (login afresh: the keyring is never stored)."""
    from interfaces.cli.common import client, secret
    from interfaces.client import access_log
    from interfaces.client.sdk import ApiError

    c = client()
    try:
        remembered = c.store.session() or {}
        org, user = args.org or remembered.get("org_short"), args.user or remembered.get("user_short")
        if not org or not user:
            raise ApiError(400, "Bitte --org und --user angeben (oder vorher `sprechzimmer login`).")
        c.login(org, user, secret("Passwort: "))
        entries = access_log.read(c)
    finally:
        c.close()
    if not entries:
        print("Keine Einträge in den letzten drei Monaten.")
    for entry in entries:
        print(access_log.line(entry))
    return 0


def add_commands(sub: Any) -> None:
    log = sub.add_parser("log", help="Zugriffsprotokoll der Praxis (Anmeldungen; nur Administratoren)")
    log.add_argument("--org", help="Kurzname der Organisation (sonst aus der letzten Anmeldung)")
    log.add_argument("--user", help="Kurzname des Benutzers (sonst aus der letzten Anmeldung)")
    log.set_defaults(func=cmd_log)
    a = sub.add_parser("audit", help="Prüfkette des Verlaufs: prüfen und signierte Prüfpunkte (Betreiber, Prüfer)")
    commands = a.add_subparsers(dest="audit_command", required=True)
    v = commands.add_parser("verify", help="Kette neu berechnen und mit allen signierten Prüfpunkten vergleichen")
    v.add_argument("--checkpoint", action="append", metavar="DATEI",
                   help="zusätzlich einen früher exportierten Prüfpunkt prüfen (mehrfach möglich)")
    v.add_argument("--progress", action="store_true", help="Fortschrittsbalken auch ohne Terminal zeigen")
    v.set_defaults(func=cmd_verify)
    c = commands.add_parser("checkpoint", help="Aktuellen Kopf der Kette signieren und ausgeben")
    c.add_argument("--export", metavar="DATEI", help="den Prüfpunkt zur Veröffentlichung in DATEI schreiben")
    c.set_defaults(func=cmd_checkpoint)
    t = commands.add_parser("token", help="Prüfer-Tokens (nur Lesezugriff auf Umschläge und Prüfpunkte)")
    tokens = t.add_subparsers(dest="token_command", required=True)
    issue = tokens.add_parser("issue", help="neues Prüfer-Token ausstellen")
    issue.add_argument("name", help="für wen (z. B. Name des Prüfers)")
    tokens.add_parser("list", help="Prüfer-Tokens auflisten")
    revoke = tokens.add_parser("revoke", help="Prüfer-Token widerrufen")
    revoke.add_argument("token_id")
    t.set_defaults(func=cmd_token)
