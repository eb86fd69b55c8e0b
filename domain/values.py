"""Value rules of registration and master data, with the German messages users see (SPEC §1)."""

from __future__ import annotations

import re
import unicodedata

ORGANISATION_KINDS = (
    "Arztpraxis", "Zahnarztpraxis", "Psychotherapeutische Praxis", "Beratungsstelle", "MVZ", "Klinik", "Sonstige",
)
ORGANISATION_SIZES = ("1-5", "6-10", "11-50", "mehr als 50")
SALUTATIONS = ("Herr", "Frau", "divers/keine")
PLANS = ("basis", "plus")
ROLES = ("admin", "staff")

POSTCODE_ABROAD = "99999"
NUMBER_STAND_IN = "999999999"
PASSWORD_MIN, PASSWORD_MAX = 8, 32
MASTER_PASSWORD_MIN = 12

_SHORT_NAME = re.compile(r"^[\w.\-]{2,32}$")
_POSTCODE = re.compile(r"^\d{5}$")
_NINE_DIGITS = re.compile(r"^\d{9}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

MSG_REQUIRED = "Dieses Feld ist erforderlich."
MSG_SHORT_NAME = "Der Kurzname muss 2 bis 32 Zeichen lang sein (Buchstaben, Ziffern, Punkt, Binde- oder Unterstrich)."
MSG_POSTCODE = "Die PLZ muss aus fünf Ziffern bestehen (99999 für Adressen außerhalb Deutschlands)."
MSG_NINE_DIGITS = "Bitte genau neun Ziffern eingeben (999999999, falls noch keine Nummer vergeben ist)."
MSG_EMAIL = "Bitte eine gültige E-Mail-Adresse eingeben."
MSG_PASSWORD_LENGTH = "Das Passwort muss 8 bis 32 Zeichen lang sein."
MSG_PASSWORD_TOO_LONG = "Das Passwort darf höchstens 32 Zeichen lang sein."
MSG_PASSWORD_REPEAT = "Die Passwörter stimmen nicht überein."
MSG_MASTER_WEAK = (
    "Das Masterpasswort ist zu schwach: mindestens 12 Zeichen oder 4 Wörter, und nicht leicht zu erraten."
)
MSG_MASTER_SAME = "Das Masterpasswort muss sich vom Passwort unterscheiden."


def is_short_name(value: str) -> bool:
    return bool(_SHORT_NAME.match(value.strip()))


def is_postcode(value: str) -> bool:
    return bool(_POSTCODE.match(value))


def is_nine_digits(value: str) -> bool:
    return bool(_NINE_DIGITS.match(value))


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value)) and len(value) <= 254


def password_problem(password: str) -> str | None:
    """The 8–32 rule counts code points after NFKC (design/crypto.md §2.2); no trimming."""
    n = len(unicodedata.normalize("NFKC", password))
    if n > PASSWORD_MAX:
        return MSG_PASSWORD_TOO_LONG
    if n < PASSWORD_MIN:
        return MSG_PASSWORD_LENGTH
    return None
