"""The lean decoding path of event payloads must stay byte-for-byte design/crypto.md §3, and the keys it caches
must go with the organisation's erasure."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from infrastructure import crypto, keystore
from infrastructure.event_cipher import EventKeyDestroyed, PerOrganisationCipherMapper, event_aad
from infrastructure.sql import open_database
from sprechzimmer_protocol.encoding import lp


def test_event_aad_is_the_length_prefixed_encoding_of_the_spec() -> None:
    org_id, stream = uuid.uuid4(), uuid.uuid4()
    for version, topic in ((1, "sz.Organisation.Registered"), (2**40, "ü-Thema")):
        stored = StoredEvent(originator_id=stream, originator_version=version, topic=topic, state=b"")
        assert event_aad(org_id, stored) == lp("vdc/v1/event", org_id, str(stream), version, topic)


@pytest.fixture
def store(tmp_path: Path) -> keystore.Keystore:
    return keystore.Keystore(open_database(None, tmp_path / "keys.sqlite"), os.urandom(32))


def test_decoded_payload_matches_the_reference_aead_and_a_changed_envelope_is_refused(
        store: keystore.Keystore) -> None:
    from eventsourcing.application import Application

    mapper = PerOrganisationCipherMapper(Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
                                         .construct_transcoder(), store)
    org_id = uuid.uuid4()
    store.create(org_id)
    key = store.event_key(org_id)
    assert key is not None
    plain = StoredEvent(originator_id=uuid.uuid4(), originator_version=3, topic="t", state=b'{"a":1}')
    sealed = StoredEvent(plain.originator_id, 3, "t", b"v1" + org_id.bytes + crypto.aead_encrypt(
        key, plain.state, lp("vdc/v1/event", org_id, str(plain.originator_id), 3, "t")))
    assert mapper.decrypt(sealed).state == plain.state
    moved = StoredEvent(plain.originator_id, 4, "t", sealed.state)  # same payload, another position
    with pytest.raises(Exception, match="Decryption failed"):
        mapper.decrypt(moved)
    store.destroy(org_id)
    with pytest.raises(EventKeyDestroyed):
        mapper.decrypt(sealed)


def test_cached_keys_are_bounded_and_dropped_on_erasure(store: keystore.Keystore,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystore, "_CACHE_ORGANISATIONS", 3)
    orgs = [uuid.uuid4() for _ in range(5)]
    for org_id in orgs:
        store.create(org_id)
        assert store.event_key(org_id) is not None
    assert list(store._cache) == orgs[-3:]  # the least recently used went first
    store.destroy(orgs[-1])
    assert store.event_key(orgs[-1]) is None and store.read_model_key(orgs[-1]) is None
    assert all(v is None for v in store._cache[orgs[-1]][1:])
