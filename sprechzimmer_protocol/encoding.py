"""Length-prefixed encoding (design/crypto.md §2.2). Pure standard library."""

from __future__ import annotations

import struct
import uuid

Field = str | bytes | int | uuid.UUID


def lp(*fields: Field) -> bytes:
    """u32be(len) ‖ bytes per field; str as UTF-8, int as u64be. Unambiguous in every language, so signed
    messages need no JSON canonicalisation."""
    out = bytearray()
    for f in fields:
        if isinstance(f, uuid.UUID):
            f = str(f)
        if isinstance(f, str):
            b = f.encode()
        elif isinstance(f, bool):
            raise TypeError("booleans are not encoded")
        elif isinstance(f, int):
            b = struct.pack(">Q", f)
        else:
            b = bytes(f)
        out += struct.pack(">I", len(b)) + b
    return bytes(out)


def unhex(value: str) -> bytes:
    return bytes.fromhex(value)
