"""contract show|upgrade|downgrade|cancel|revoke (practice side, over the API); billing run and erasure run
(operator side, directly on the configured store)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from typing import Any

from interfaces.cli.common import client
from interfaces.client import contract


def _de(day: str | None) -> str:
    return date.fromisoformat(day).strftime("%d.%m.%Y") if day else "–"


def print_contract(view: dict[str, Any]) -> None:
    print(f"Tarif:               {view['plan']}")
    if view.get("next_plan"):
        print(f"Ab {_de(view['next_plan_from'])}:       Tarif {view['next_plan']}")
    bank = view.get("bank")
    if bank:
        print(f"Kontoinhaber:        {bank['account_holder']}")
        print(f"IBAN:                {bank['iban']}")
        print(f"Mandatsreferenz:     {bank['mandate_reference']} (erteilt am {_de(bank['mandate_signed_on'])})")
        print(f"Gläubiger-ID:        {view['creditor_id']}")
    if view.get("ends_on"):
        print(f"Gekündigt am:        {_de(view['cancelled_on'])}")
        print(f"Vertrag endet zum:   {_de(view['ends_on'])} – danach werden alle Daten unwiderruflich gelöscht.")
        if view.get("revocable"):
            print("Die Kündigung kann bis dahin widerrufen werden: sprechzimmer contract revoke")


def cmd_show(args: argparse.Namespace) -> int:
    print_contract(contract.show(client()))
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    print_contract(contract.upgrade(client(), args.account_holder, args.iban, args.bic, args.sepa_mandate))
    return 0


def cmd_downgrade(args: argparse.Namespace) -> int:
    print_contract(contract.downgrade(client()))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    if not args.confirm:
        print("Ihr Benutzerkonto und alle von Ihnen erfassten Daten werden nach Ablauf der Kündigungsfrist "
              "(3 Monate zum Quartalsende) unwiderruflich gelöscht. Zum Bestätigen --confirm angeben.",
              file=sys.stderr)
        return 1
    print_contract(contract.cancel(client(), True))
    print("Eine Kündigungsbestätigung wurde per E-Mail versandt.")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    print_contract(contract.revoke(client()))
    print("Die Kündigung ist widerrufen. Eine Bestätigung wurde per E-Mail versandt.")
    return 0


def cmd_billing_run(args: argparse.Namespace) -> int:
    from application import billing
    from application.errors import DomainError
    from interfaces.bootstrap import build

    container = build()
    try:
        result = billing.run(container.services, args.month)
    except DomainError as error:
        print(f"Fehler: {error.message}", file=sys.stderr)
        return 1
    except Exception as error:  # an operator must notice: German message, details in the log, exit code 2
        logging.getLogger("sprechzimmer.billing").exception("billing run %s failed", args.month)
        print(f"Fehler: Die Abrechnung für {args.month} ist fehlgeschlagen ({type(error).__name__}). "
              "Es wurde nichts als abgerechnet vermerkt; bitte das Protokoll prüfen und erneut ausführen.",
              file=sys.stderr)
        return 2
    finally:
        container.close()
    state = "bereits abgerechnet, unverändert" if result.already_done else "abgerechnet"
    print(f"Monat {result.month}: {state}; {len(result.invoices)} Rechnungen, Summe {result.total_gross} EUR")
    if result.sepa_path:
        print(f"SEPA-Lastschriftdatei: {result.sepa_path}")
    return 0


def cmd_billing_sepa_export(args: argparse.Namespace) -> int:
    """The month's SEPA file is stored sealed to the retention key (issue 15.2): opened here for the bank."""
    import os

    from infrastructure.settings import check_deployment, load_settings, retention_seed
    from sprechzimmer_protocol.primitives import CryptoError, box_key, unseal

    settings = load_settings()
    check_deployment(settings)
    files = sorted((settings.data_dir / "billing" / args.month).glob("sepa-*.xml"))
    if not files:
        print(f"Fehler: Für {args.month} gibt es keine SEPA-Datei (noch nicht abgerechnet, oder nach dem "
              "Einzugsdatum gelöscht).", file=sys.stderr)
        return 1
    try:
        xml = unseal(box_key(retention_seed(settings.secrets)), files[0].read_bytes())
    except CryptoError:
        print("Fehler: Die SEPA-Datei lässt sich mit diesem SPRECHZIMMER_RETENTION_KEY nicht öffnen.",
              file=sys.stderr)
        return 1
    if args.out is None:
        sys.stdout.buffer.write(xml)
        return 0
    with open(os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(xml)
    print(f"SEPA-Lastschriftdatei für die Bank: {args.out}")
    return 0


def cmd_erasure_run(args: argparse.Namespace) -> int:
    from application import erasure
    from interfaces.bootstrap import build

    container = build()
    try:
        plans = erasure.run_due(container.services, dry_run=args.dry_run)
    finally:
        container.close()
    if not plans:
        print("Keine Löschung fällig.")
    for plan in plans:
        what = "würde gelöscht" if args.dry_run and plan.status in ("due", "resumed") else plan.status
        print(f"Organisation {plan.org_id} (Löschprotokoll {plan.org_hash[:16]}…, "
              f"Vertragsende {_de(plan.ends_on.isoformat())}, {plan.events} Ereignisse): {what}")
    return 0


def add_commands(sub: Any) -> None:
    c = sub.add_parser("contract", help="Vertrag anzeigen, wechseln, kündigen, Kündigung widerrufen")
    csub = c.add_subparsers(dest="contract_command", required=True)
    csub.add_parser("show", help="Vertrag anzeigen").set_defaults(func=cmd_show)
    up = csub.add_parser("upgrade", help="Wechsel zum Tarif plus (SEPA-Lastschriftmandat)")
    up.add_argument("--account-holder", required=True)
    up.add_argument("--iban", required=True)
    up.add_argument("--bic", required=True)
    up.add_argument("--sepa-mandate", action="store_true", help="SEPA-Lastschriftmandat erteilen")
    up.set_defaults(func=cmd_upgrade)
    csub.add_parser("downgrade", help="Wechsel zum Tarif basis zum Monatsende").set_defaults(func=cmd_downgrade)
    cancel = csub.add_parser("cancel", help="Vertrag kündigen und Daten löschen")
    cancel.add_argument("--confirm", action="store_true",
                        help="bestätigt die Kündigung und die anschließende Löschung des Benutzerkontos")
    cancel.set_defaults(func=cmd_cancel)
    csub.add_parser("revoke", help="Kündigung widerrufen").set_defaults(func=cmd_revoke)

    b = sub.add_parser("billing", help="Monatsabrechnung (Betrieb)")
    bsub = b.add_subparsers(dest="billing_command", required=True)
    run = bsub.add_parser("run", help="Rechnungen und SEPA-Datei eines Monats erstellen (idempotent)")
    run.add_argument("--month", required=True, metavar="JJJJ-MM")
    run.set_defaults(func=cmd_billing_run)
    export = bsub.add_parser("sepa-export", help="SEPA-Datei eines Monats entschlüsselt ausgeben (für die Bank)")
    export.add_argument("--month", required=True, metavar="JJJJ-MM")
    export.add_argument("--out", metavar="DATEI", help="statt auf die Standardausgabe in diese Datei (0600)")
    export.set_defaults(func=cmd_billing_sepa_export)

    e = sub.add_parser("erasure", help="Löschung gekündigter Organisationen (Betrieb)")
    esub = e.add_subparsers(dest="erasure_command", required=True)
    er = esub.add_parser("run", help="fällige Löschungen jetzt ausführen")
    er.add_argument("--dry-run", action="store_true", help="nur anzeigen, was gelöscht würde")
    er.set_defaults(func=cmd_erasure_run)
