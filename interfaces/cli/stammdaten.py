"""sprechzimmer stammdaten show|edit: the organisation's master data with the field names of the registration
form (SPEC §1). `edit "Telefon=030 1234567" "Titel="` changes the named fields (an empty value clears an
optional one); the server applies the registration's rules, and only administrators may change anything."""

from __future__ import annotations

import argparse
from typing import Any

from interfaces.cli.common import CliError, logged_in, login_options
from interfaces.client import users

# (section, field) → the label of the registration form, in the order of the form.
FIELDS: dict[tuple[str, str], str] = {
    ("organisation", "name"): "Name der Organisation",
    ("organisation", "kind"): "Art der Organisation",
    ("organisation", "size"): "Größe der Organisation",
    ("organisation", "specialty"): "Fachrichtung",
    ("organisation", "bsnr"): "BSNR",
    ("organisation", "lanr"): "LANR",
    ("address", "street"): "Straße",
    ("address", "number"): "Nr",
    ("address", "addition"): "Adresszusatz",
    ("address", "postcode"): "PLZ",
    ("address", "city"): "Ort",
    ("main_user", "salutation"): "Anrede",
    ("main_user", "title"): "Titel",
    ("main_user", "first_name"): "Vorname",
    ("main_user", "last_name"): "Nachname",
    ("main_user", "email"): "E-Mail",
    ("main_user", "phone"): "Telefon",
}
SECTIONS = {"organisation": "Organisation", "address": "Adresse", "main_user": "Hauptnutzer(in)"}
BY_LABEL = {label.casefold(): key for key, label in FIELDS.items()}
WIDTH = max(map(len, FIELDS.values())) + 1


def print_stammdaten(data: dict[str, Any]) -> None:
    print(f"{'Kurzname der Organisation:':{WIDTH + 1}} {data['org_short']} (unveränderlich)")
    for section, title in SECTIONS.items():
        print(f"{title}:")
        for (part, name), label in FIELDS.items():
            if part == section:
                value = data[section].get(name)
                print(f"  {label + ':':{WIDTH}} {value if value not in (None, '') else 'nicht angegeben'}")
    print(f"{'Kurzname des Hauptnutzers:':{WIDTH + 1}} {data['main_user_short']}")


def changes(assignments: list[str]) -> dict[tuple[str, str], str | None]:
    """"Feld=Wert" with the labels of `stammdaten show`, case-insensitive; refused before anything is sent."""
    found: dict[tuple[str, str], str | None] = {}
    for assignment in assignments:
        label, sep, value = assignment.partition("=")
        key = BY_LABEL.get(label.strip().casefold())
        if not sep or key is None:
            raise CliError(f"Unbekannte Angabe {assignment!r}. Bitte in der Form Feld=Wert, mit einem dieser "
                           f"Felder: {', '.join(FIELDS.values())}.")
        found[key] = value.strip() or None
    return found


def cmd_show(args: argparse.Namespace) -> int:
    print_stammdaten(users.stammdaten(logged_in(args)))
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    wanted = changes(args.assignments)
    sdk = logged_in(args)
    current = users.stammdaten(sdk)
    sections = {section: dict(current[section]) for section in SECTIONS}
    for (section, name), value in wanted.items():
        sections[section][name] = value
    print_stammdaten(users.update_stammdaten(sdk, sections["organisation"], sections["address"],
                                             sections["main_user"]))
    print("Stammdaten gespeichert.")
    return 0


def add_commands(sub: Any) -> None:
    group = sub.add_parser("stammdaten", help="Stammdaten der Organisation anzeigen und ändern").add_subparsers(
        dest="action", required=True)
    show = group.add_parser("show", help="Stammdaten anzeigen")
    login_options(show)
    show.set_defaults(func=cmd_show)
    edit = group.add_parser("edit", help="Stammdaten ändern (nur Administratoren)")
    login_options(edit)
    edit.add_argument("assignments", nargs="+", metavar="FELD=WERT",
                      help="z. B. \"Telefon=030 1234567\"; Feldnamen wie bei `stammdaten show`, leerer Wert "
                           "löscht eine freiwillige Angabe")
    edit.set_defaults(func=cmd_edit)
