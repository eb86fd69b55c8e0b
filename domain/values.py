"""Value rules of registration and master data, with the German messages users see (SPEC §1)."""

from __future__ import annotations

import re

# Short names are typed into every client: their rule lives in the protocol (stdlib only), defined once.
from sprechzimmer_protocol.names import MSG_SHORT_NAME, is_short_name

__all__ = ["MSG_SHORT_NAME", "is_short_name"]  # re-exported: part of the domain's vocabulary

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
