"""Short names and passwords as people type them (design/crypto.md §2.2, §8a.2), with the German messages
users see. Pure standard library: the domain imports this module, so each rule is defined once for the
server, the SDK and (mirrored) the browser client."""

from __future__ import annotations

import re
import unicodedata

SHORT_NAME_MIN, SHORT_NAME_MAX = 2, 32
# §8a.2: a closed alphabet whose lower-casing is identical in Python and JavaScript for every allowed name.
_SHORT_NAME = re.compile(r"[A-Za-z0-9ÄÖÜäöüß._\-]{2,32}")
MSG_SHORT_NAME = ("Der Kurzname muss 2 bis 32 Zeichen lang sein und darf nur Buchstaben A–Z und a–z, Ä, Ö, Ü, ä, ö, "
                  "ü, ß, Ziffern, Punkt, Unter- und Bindestrich enthalten (keine Leerzeichen).")

PASSWORD_MIN, PASSWORD_MAX = 8, 32
MASTER_PASSWORD_MIN = 12
MSG_PASSWORD_LENGTH = "Das Passwort muss 8 bis 32 Zeichen lang sein."
MSG_PASSWORD_TOO_LONG = "Das Passwort darf höchstens 32 Zeichen lang sein."
MSG_PASSWORD_REPEAT = "Die Passwörter stimmen nicht überein."
MSG_MASTER_WEAK = (
    "Das Masterpasswort ist zu schwach: mindestens 12 Zeichen oder 4 Wörter, und nicht leicht zu erraten."
)
MSG_MASTER_SAME = "Das Masterpasswort muss sich vom Passwort unterscheiden."


def _nfc_trimmed(name: str) -> str:
    return unicodedata.normalize("NFC", name.strip())


def is_short_name(name: str) -> bool:
    """2–32 allowed characters after trimming (and NFC, so a decomposed "ü" counts as the one letter)."""
    return _SHORT_NAME.fullmatch(_nfc_trimmed(name)) is not None


def short_name_key(name: str) -> str:
    """The key short names are unique and matched by: NFC(trim(name)), lower-cased, ß → ss (§8a.2). Total, so
    a login with any input is looked up the same (generic) way; only valid names are ever stored."""
    return _nfc_trimmed(name).lower().replace("ß", "ss")


def normalise_password(password: str) -> bytes:
    """NFKC, then UTF-8; no trimming (§2.2)."""
    return unicodedata.normalize("NFKC", password).encode()


def password_length(password: str) -> int:
    """Length in code points after NFKC, which is what the 8–32 rule counts."""
    return len(unicodedata.normalize("NFKC", password))


def password_problem(password: str) -> str | None:
    n = password_length(password)
    if n > PASSWORD_MAX:
        return MSG_PASSWORD_TOO_LONG
    if n < PASSWORD_MIN:
        return MSG_PASSWORD_LENGTH
    return None


def master_password_length_ok(master_password: str) -> bool:
    """Decision 1 of §8: ≥ 12 characters or ≥ 4 words (the strength check comes on top, in the client)."""
    return password_length(master_password) >= MASTER_PASSWORD_MIN or len(master_password.split()) >= 4
