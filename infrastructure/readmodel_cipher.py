"""Encryption of sensitive read-model columns (design/crypto.md §8a.9, issue 10.8): password verifiers
(pw_salt, pk_pw) and device keys are enough for an offline guess or a key swap, so read models keep them
sealed under the organisation's read-model key K_rm = kdf(K_shred, "vdcsv_v1", 2) from the keystore. Erasing
the organisation destroys K_shred, which shreds these columns in every copy of the state database too.

Stored value: "rm1:" ‖ hex(XChaCha20-Poly1305(K_rm, value, aad = lp("vdc/v1/read-model", org_id, column)))."""

from __future__ import annotations

from uuid import UUID

from application.errors import EventKeyDestroyed
from application.ports import Keystore
from infrastructure import crypto
from sprechzimmer_protocol.primitives import CryptoError

PREFIX = "rm1:"

__all__ = ["PREFIX", "ReadModelCipher"]


class ReadModelCipher:
    def __init__(self, keystore: Keystore):
        self.keystore = keystore

    def key(self, org_id: UUID) -> bytes:
        """K_rm of the organisation, for opening several of its values with one lookup."""
        key = self.keystore.read_model_key(org_id)
        if key is None:
            raise EventKeyDestroyed(org_id)
        return key

    def seal(self, org_id: UUID, column: str, value: str, key: bytes | None = None) -> str:
        aad = crypto.lp("vdc/v1/read-model", org_id, column)
        return PREFIX + crypto.aead_encrypt(key or self.key(org_id), value.encode(), aad).hex()

    def open(self, org_id: UUID, column: str, stored: str, key: bytes | None = None) -> str:
        """The plaintext; "" for a sealed value that does not open (a tampered row), which clients then refuse
        like any other value that does not match its org-signed certificate. A row written before sealing
        existed is read as it is until the read model is rebuilt."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            aad = crypto.lp("vdc/v1/read-model", org_id, column)
            return crypto.aead_decrypt(key or self.key(org_id), bytes.fromhex(stored[len(PREFIX):]), aad).decode()
        except (ValueError, CryptoError):
            return ""
