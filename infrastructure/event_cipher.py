"""Per-organisation encryption of event payloads (design/crypto.md §3 "event store", §4.11).

Stored state of an organisation's event: b"v1" ‖ org_id (16 bytes) ‖ Aead(K_evt).encrypt(json, aad), with
aad = lp("vdc/v1/event", org_id, stream, seq, type). The envelope (stream, version, topic) stays readable for
auditors; once the organisation's K_shred is destroyed, no copy of the payload can be decrypted."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from application.errors import EventKeyDestroyed
from infrastructure import crypto
from infrastructure.keystore import Keystore

MAGIC = b"v1"

__all__ = ["MAGIC", "EventKeyDestroyed", "PerOrganisationCipherMapper", "org_of_stored"]


def event_aad(org_id: UUID, stored: StoredEvent) -> bytes:
    return crypto.lp("vdc/v1/event", org_id, str(stored.originator_id), stored.originator_version, stored.topic)


def org_of_stored(state: bytes) -> UUID | None:
    return UUID(bytes=state[2:18]) if state[:2] == MAGIC else None


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
        return dataclasses.replace(stored, state=MAGIC + org_id.bytes + ciphertext)

    def decrypt(self, stored: StoredEvent) -> StoredEvent:
        org_id = org_of_stored(stored.state)
        if org_id is None:
            return stored
        key = self.keystore.event_key(org_id)
        if key is None:
            raise EventKeyDestroyed(org_id)
        plaintext = crypto.aead_decrypt(key, stored.state[18:], event_aad(org_id, stored))
        return dataclasses.replace(stored, state=plaintext)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return super().to_domain_event(self.decrypt(stored_event))
