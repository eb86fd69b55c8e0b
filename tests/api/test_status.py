"""The status page tells the operator how the store and the read models stand; read models rebuild from zero."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from interfaces.client.sdk import Client
from tests.conftest import LiveServer, register


def test_status_shows_database_and_projection_positions(server: LiveServer,
                                                        new_client: Callable[[str], Client]) -> None:
    before = httpx.get(server.url + "/api/v1/status").json()
    assert before["status"] == "ok" and before["event_position"] == 0
    register(new_client("a"))
    register(new_client("b"), credentials__org_short="PraxisB",
             plan="plus", billing={"account_holder": "B", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
                                   "sepa_mandate": True})
    status = httpx.get(server.url + "/api/v1/status").json()
    assert status["database"] == ("sqlite" if server.settings.embedded else "postgres")
    assert status["event_position"] >= 8
    assert status["projections"]["organisations"] == status["event_position"]  # read-your-writes
    assert status["organisations"] == {"basis": 1, "plus": 1}
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}


def test_read_models_rebuild_from_the_event_log(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    register(new_client("a"))
    container = server.container
    container.projections.rebuild()
    status = httpx.get(server.url + "/api/v1/status").json()
    assert status["organisations"] == {"basis": 1}
    assert status["projections"]["organisations"] == status["event_position"]
