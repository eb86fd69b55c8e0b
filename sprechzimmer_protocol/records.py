"""The end-to-end encrypted record envelope (design/crypto.md §2.3): a fresh DEK per record, wrapped under
the organisation's newest data key, both bound by their AAD to the organisation and the record, so a record
moved to another appointment no longer opens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import layouts
from .encoding import unhex
from .errors import TamperingDetected
from .keyring import Keyring
from .primitives import CryptoError, aead_decrypt, aead_encrypt, random_bytes


@dataclass(frozen=True)
class RecordEnvelope:
    kver: int  # the data-key version that wraps the DEK
    wrapped_dek: bytes
    ciphertext: bytes
    schema: int

    @classmethod
    def seal(cls, keyring: Keyring, record_id: str, field: str, schema: int, plaintext: bytes) -> RecordEnvelope:
        version, data_key = keyring.newest_data_key
        dek = random_bytes(32)
        wrapped = aead_encrypt(data_key, dek, layouts.dek_aad(keyring.org_id, record_id, version))
        ciphertext = aead_encrypt(dek, plaintext, layouts.record_aad(keyring.org_id, record_id, field, schema))
        return cls(version, wrapped, ciphertext, schema)

    def open(self, keyring: Keyring, record_id: str, field: str, message: str) -> bytes:
        """Raises TamperingDetected(message) when the record was altered or belongs to another record."""
        try:
            data_key = keyring.data_keys[self.kver]
            dek = aead_decrypt(data_key, self.wrapped_dek, layouts.dek_aad(keyring.org_id, record_id, self.kver))
            return aead_decrypt(dek, self.ciphertext, layouts.record_aad(keyring.org_id, record_id, field,
                                                                         self.schema))
        except (CryptoError, KeyError, ValueError, TypeError):
            raise TamperingDetected(message) from None

    def to_wire(self) -> dict[str, Any]:
        return {"kver": self.kver, "wrapped_dek": self.wrapped_dek.hex(), "ciphertext": self.ciphertext.hex(),
                "schema": self.schema}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> RecordEnvelope:
        """Raises ValueError/KeyError/TypeError for a malformed envelope."""
        return cls(int(wire["kver"]), unhex(wire["wrapped_dek"]), unhex(wire["ciphertext"]), int(wire["schema"]))
