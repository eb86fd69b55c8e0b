"""What a client raises when the server's answer does not verify. Pure standard library."""

from __future__ import annotations

MSG_TAMPERED = "Die Antwort des Servers ist nicht vertrauenswürdig (Signatur ungültig). Vorgang abgebrochen."


class TamperingDetected(Exception):
    """The server handed out keys, grants or records that the organisation never signed or sealed."""
