"""Fixtures for calls: the live server with a join resolver of real codes, registered practices."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from infrastructure.settings import Settings
from interfaces.bootstrap import build
from interfaces.client.sdk import Client
from tests.calls.support import GrantBook
from tests.conftest import PASSWORD, Clock, LiveServer, register

PLUS_BILLING = {"account_holder": "Dr. med. Martin Winkler", "iban": "DE89 3704 0044 0532 0130 00",
                "bic": "COBADEFFXXX", "sepa_mandate": True}


@pytest.fixture
def grants() -> GrantBook:
    return GrantBook()


@pytest.fixture
def call_settings(settings: Settings) -> Settings:
    """Short heartbeats and grace periods, so dead peers and reconnects are observable within seconds."""
    return replace(settings, call_heartbeat_seconds=0.5, call_grace_seconds=2.0)


def call_server(settings: Settings, clock: Clock, grants: GrantBook) -> LiveServer:
    """A live server (not yet started) whose join resolver knows the test's grants; a second one on the same
    settings is the same server after a restart."""
    live = LiveServer(settings, clock)

    def factory() -> Any:
        container = build(settings, clock=clock)
        assert container.calls is not None
        grants.fallback = container.calls.join_resolver  # real appointments resolve as in production
        container.calls.join_resolver = grants
        return container

    live.runtime.factory = factory
    return live


@pytest.fixture
def server(call_settings: Settings, clock: Clock, grants: GrantBook) -> Iterator[LiveServer]:
    with call_server(call_settings, clock, grants) as live:
        yield live


@pytest.fixture
def practice(new_client: Callable[[str], Client], grants: GrantBook) -> Callable[..., uuid.UUID]:
    """Registers the seed's practice (basis, or plus with a SEPA mandate) and logs its admin in, so the
    practitioner codes of `grants` come with that session; returns the org id."""

    def make(plan: str = "basis", name: str = "praxis") -> uuid.UUID:
        client = new_client(name)
        changes: dict[str, Any] = {"plan": plan, "billing": PLUS_BILLING} if plan == "plus" else {}
        if name != "praxis":
            changes["credentials__org_short"] = name
        org_id = uuid.UUID(str(register(client, **changes)["org_id"]))
        grants.sessions[org_id] = client.login(name if name != "praxis" else "PWinkler", "MartinW", PASSWORD).token
        return org_id

    return make
