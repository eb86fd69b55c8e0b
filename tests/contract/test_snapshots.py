"""Snapshots of aggregates with long histories (issue 13.3): a practice whose organisation has hundreds of events
loads from its newest snapshot plus the events after it, with the same result as a full replay. Snapshots are
ciphertext under the organisation's key like its events, go with the erasure, and one taken by other code (an
older release) is never used."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import project_aggregate

import domain.base
from application.eventstore import SNAPSHOT_EVERY
from domain.base import OrgSnapshot
from domain.organisation import Organisation
from infrastructure.event_cipher import MAGIC
from infrastructure.settings import Settings
from interfaces.client import users
from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, LiveServer, register

EDITS = 2 * SNAPSHOT_EVERY + 20


def snapshot_rows(settings: Settings, org_id: UUID) -> list[bytes]:
    """The stored states of the organisation's snapshots, read as an attacker with a backup would."""
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            rows = conn.execute("SELECT state FROM sprechzimmer_snapshots WHERE originator_id = %s", (org_id,))
            return [bytes(row[0]) for row in rows]
    with sqlite3.connect(settings.data_dir / "events.sqlite") as conn:
        rows = conn.execute("SELECT state FROM stored_snapshots WHERE originator_id = ?", (org_id.hex,))
        return [bytes(row[0]) for row in rows]


def replayed(server: LiveServer, aggregate_id: UUID) -> Any:
    """The aggregate from all of its events, no snapshot involved."""
    return project_aggregate(None, server.container.services.events.events.get(aggregate_id))


def events_read(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the events each load reads from the store."""
    store = server.container.services.events.events
    counts: list[int] = []
    original = store.get

    def counting(*args: Any, **kwargs: Any) -> Iterator[Any]:
        found = list(original(*args, **kwargs))
        counts.append(len(found))
        return iter(found)

    monkeypatch.setattr(store, "get", counting)
    return counts


def test_long_history_loads_from_an_encrypted_snapshot_and_erasure_takes_it(
        server: LiveServer, new_client: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch) -> None:
    client = new_client("laptop-martin")
    org_id = UUID(register(client)["org_id"])
    client.login("PWinkler", "MartinW", PASSWORD)
    current = users.stammdaten(client)
    for number in range(EDITS):  # a practice that edits its Stammdaten now and then, over years
        organisation = {**current["organisation"], "name": f"Praxis Müller-Lüdenscheidt {number}"}
        users.update_stammdaten(client, organisation, current["address"], current["main_user"])
    settings = server.container.settings
    services = server.container.services

    stored = snapshot_rows(settings, org_id)
    assert len(stored) == EDITS // SNAPSHOT_EVERY
    for state in stored:  # ciphertext under the organisation's key, like its events
        assert state.startswith(MAGIC + org_id.bytes)
        assert "Lüdenscheidt".encode() not in state and b"MartinW" not in state and b"Winkler" not in state

    reads = events_read(server, monkeypatch)
    loaded = services.events.get(org_id, Organisation)
    assert loaded is not None and reads[-1] < SNAPSHOT_EVERY  # the snapshot, then the few events after it
    full = replayed(server, org_id)
    assert vars(loaded) == vars(full)
    assert loaded.profile["organisation"]["name"] == f"Praxis Müller-Lüdenscheidt {EDITS - 1}"

    # Commands and logins on the snapshot-loaded organisation work as before.
    client.login("PWinkler", "MartinW", PASSWORD)
    users.update_stammdaten(client, {**current["organisation"], "name": "Praxis Weiß"}, current["address"],
                            current["main_user"])
    assert users.stammdaten(client)["organisation"]["name"] == "Praxis Weiß"

    # A snapshot taken by other code (an older release, say) is passed over: the events are replayed instead.
    monkeypatch.setattr(domain.base, "_schema", lambda module: "another release")
    reads.clear()
    again = services.events.get(org_id, Organisation)
    assert reads == [EDITS + 2] and again is not None and vars(again) == vars(replayed(server, org_id))
    monkeypatch.undo()

    deleted = services.contracts.purger.delete_events(org_id)
    assert deleted["snapshots"] == len(stored) and snapshot_rows(settings, org_id) == []


def test_snapshots_restore_keyrings_users_and_grants_exactly(server: LiveServer,
                                                            new_client: Callable[[str], Client]) -> None:
    """Integer keyring versions, the User records and a device's grants survive the JSON of the store."""
    client = new_client("laptop-martin")
    org_id = UUID(register(client)["org_id"])
    services = server.container.services
    device = client.store.device(client.origin, "pwinkler")
    assert device is not None
    aggregates = [services.events.get(org_id, Organisation), services.events.device(org_id, device.device_id)]
    mapper = services.events.mapper
    for aggregate in aggregates:
        assert aggregate is not None
        stored = mapper.to_stored_event(OrgSnapshot.take(aggregate))
        assert stored.state.startswith(MAGIC + org_id.bytes)
        restored = mapper.to_domain_event(stored).mutate(None)
        assert type(restored) is type(aggregate) and vars(restored) == vars(aggregate)
