"""Per-organisation encryption of event payloads (design/crypto.md §3 "event store", §4.11).

Stored state of an organisation's event: b"v1" ‖ org_id (16 bytes) ‖ Aead(K_evt).encrypt(json, aad), with
aad = lp("vdc/v1/event", org_id, stream, seq, type). The envelope (stream, version, topic) stays readable for
auditors; once the organisation's K_shred is destroyed, no copy of the payload can be decrypted.

Decoding is on the path of every replay and read-model catch-up, so it is kept lean: the keystore caches the
derived K_evt per organisation, the constant head of the AAD is built once per organisation and the rest with
struct instead of the generic lp(), and the AEAD is called through libsodium directly (PyNaCl's wrapper
formats its error messages on every call, which costs more than the decryption of a small event)."""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from nacl._sodium import ffi, lib
from nacl.exceptions import CryptoError

from application.errors import EventKeyDestroyed
from infrastructure import crypto
from infrastructure.keystore import Keystore
from sprechzimmer_protocol.encoding import lp

MAGIC = b"v1"
_NONCE, _TAG = 24, 16
_HEAD = len(MAGIC) + 16  # magic ‖ org_id
_U32, _U64 = struct.Struct(">I"), struct.Struct(">Q")

__all__ = ["MAGIC", "EventKeyDestroyed", "PerOrganisationCipherMapper", "event_aad", "org_of_stored"]


@lru_cache(maxsize=4096)
def _org(org_bytes: bytes) -> tuple[UUID, bytes]:
    """The organisation in a stored state's header and the AAD's constant head lp("vdc/v1/event", org_id):
    neither is secret, both are the same for every event of the organisation."""
    org_id = UUID(bytes=org_bytes)
    return org_id, lp("vdc/v1/event", org_id)


@lru_cache(maxsize=1024)
def _lp_text(text: str) -> bytes:  # topics: a few dozen distinct values
    encoded = text.encode()
    return _U32.pack(len(encoded)) + encoded


def _aad(head: bytes, stored: StoredEvent) -> bytes:
    """Byte for byte lp("vdc/v1/event", org_id, str(stream), seq, topic) (checked in the tests)."""
    stream = str(stored.originator_id).encode()
    return b"".join((head, _U32.pack(len(stream)), stream, b"\x00\x00\x00\x08",
                     _U64.pack(stored.originator_version), _lp_text(stored.topic)))


def event_aad(org_id: UUID, stored: StoredEvent) -> bytes:
    return _aad(_org(org_id.bytes)[1], stored)


def org_of_stored(state: bytes) -> UUID | None:
    return _org(state[2:_HEAD])[0] if state[:2] == MAGIC else None


def _aead_decrypt(key: bytes, nonce_ct: bytes, aad: bytes) -> bytes:
    """crypto.aead_decrypt (XChaCha20-Poly1305-IETF) without PyNaCl's per-call argument formatting."""
    ciphertext = nonce_ct[_NONCE:]
    size = len(ciphertext) - _TAG
    if size < 0 or len(key) != 32:
        raise CryptoError("Decryption failed. Ciphertext failed verification")
    message = ffi.new("unsigned char[]", max(size, 1))
    length = ffi.new("unsigned long long *")
    if lib.crypto_aead_xchacha20poly1305_ietf_decrypt(message, length, ffi.NULL, ciphertext, len(ciphertext),
                                                      aad, len(aad), nonce_ct[:_NONCE], key) != 0:
        raise CryptoError("Decryption failed. Ciphertext failed verification")
    return ffi.buffer(message, length[0])[:]


class PerOrganisationCipherMapper(Mapper[UUID]):
    def __init__(self, transcoder: Transcoder, keystore: Keystore):
        super().__init__(transcoder=transcoder)
        self.keystore = keystore

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        org_id = getattr(domain_event, "org_id", None)
        if org_id is None:  # global, PII-free events (erasure receipts) stay readable for every auditor
            return stored
        key = self.keystore.event_key(org_id)
        if key is None:
            raise EventKeyDestroyed(org_id)
        ciphertext = crypto.aead_encrypt(key, stored.state, event_aad(org_id, stored))
        return StoredEvent(originator_id=stored.originator_id, originator_version=stored.originator_version,
                           topic=stored.topic, state=MAGIC + org_id.bytes + ciphertext)

    def decrypt(self, stored: StoredEvent) -> StoredEvent:
        state = stored.state
        if state[:2] != MAGIC:
            return stored
        org_id, head = _org(state[2:_HEAD])
        key = self.keystore.event_key(org_id)
        if key is None:
            raise EventKeyDestroyed(org_id)
        plaintext = _aead_decrypt(key, state[_HEAD:], _aad(head, stored))
        # A plain constructor call: dataclasses.replace() inspects the fields anew for every event.
        return StoredEvent(originator_id=stored.originator_id, originator_version=stored.originator_version,
                           topic=stored.topic, state=plaintext)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return super().to_domain_event(self.decrypt(stored_event))
