"""Human codes (access, pairing, invite codes; design/crypto.md §2.2, §4.10): 60 random bits as 12 Crockford
characters grouped XXXX-XXXX-XXXX; forgiving input. Pure standard library."""

from __future__ import annotations

import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ALIASES = {"O": "0", "I": "1", "L": "1"}
MSG_CODE_FORMAT = "Der Code hat 12 Zeichen (XXXX-XXXX-XXXX)."


def encode_code(random8: bytes) -> str:
    """The top 60 of 64 random bits, 5 bits per character: no modulo bias."""
    bits = int.from_bytes(random8[:8], "big") >> 4
    chars = "".join(CROCKFORD[(bits >> (5 * (11 - i))) & 31] for i in range(12))
    return format_code(chars)


def new_code() -> str:
    return encode_code(secrets.token_bytes(8))


def normalise_code(text: str) -> str:
    """Case-insensitive, hyphens and spaces ignored, O→0, I/L→1. Raises ValueError for anything else."""
    chars = [_ALIASES.get(c, c) for c in text.upper() if c not in "- \t"]
    if len(chars) != 12 or any(c not in CROCKFORD for c in chars):
        raise ValueError("not a 12-character code")
    return "".join(chars)


def format_code(normalised: str) -> str:
    return f"{normalised[0:4]}-{normalised[4:8]}-{normalised[8:12]}"
