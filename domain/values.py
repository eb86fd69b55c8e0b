"""Value rules of registration and master data, with the German messages users see (SPEC §1)."""

from __future__ import annotations

import re

# Short names and passwords are typed into every client: their rules live in the protocol (stdlib only) and
# are defined there once; the domain re-exports them as part of its vocabulary.
from sprechzimmer_protocol.names import (
    MASTER_PASSWORD_MIN,
    MSG_MASTER_SAME,
    MSG_MASTER_WEAK,
    MSG_PASSWORD_LENGTH,
    MSG_PASSWORD_REPEAT,
    MSG_PASSWORD_TOO_LONG,
    MSG_SHORT_NAME,
    PASSWORD_MAX,
    PASSWORD_MIN,
    is_short_name,
    password_problem,
)

__all__ = [
    "MASTER_PASSWORD_MIN", "MSG_MASTER_SAME", "MSG_MASTER_WEAK", "MSG_PASSWORD_LENGTH", "MSG_PASSWORD_REPEAT",
    "MSG_PASSWORD_TOO_LONG", "MSG_SHORT_NAME", "PASSWORD_MAX", "PASSWORD_MIN", "is_short_name", "password_problem",
]

ORGANISATION_KINDS = (
    "Arztpraxis", "Zahnarztpraxis", "Psychotherapeutische Praxis", "Beratungsstelle", "MVZ", "Klinik", "Sonstige",
)
ORGANISATION_SIZES = ("1-5", "6-10", "11-50", "mehr als 50")
SALUTATIONS = ("Herr", "Frau", "divers/keine")
PLANS = ("basis", "plus")
ROLES = ("admin", "staff")

POSTCODE_ABROAD = "99999"
NUMBER_STAND_IN = "999999999"

_POSTCODE = re.compile(r"^\d{5}$")
_NINE_DIGITS = re.compile(r"^\d{9}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

MSG_REQUIRED = "Dieses Feld ist erforderlich."
MSG_POSTCODE = "Die PLZ muss aus fünf Ziffern bestehen (99999 für Adressen außerhalb Deutschlands)."
MSG_NINE_DIGITS = "Bitte genau neun Ziffern eingeben (999999999, falls noch keine Nummer vergeben ist)."
MSG_EMAIL = "Bitte eine gültige E-Mail-Adresse eingeben."


def is_postcode(value: str) -> bool:
    return bool(_POSTCODE.match(value))


def is_nine_digits(value: str) -> bool:
    return bool(_NINE_DIGITS.match(value))


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value)) and len(value) <= 254
