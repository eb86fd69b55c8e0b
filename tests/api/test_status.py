"""The status page tells the operator how the store and the read models stand; read models rebuild from zero.
Anyone else learns only that the service is up (issue 10.9: practice counts per plan were public)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from interfaces.client.sdk import Client
from tests.conftest import OPERATOR_TOKEN, LiveServer, operator_status, register


def test_status_shows_database_and_projection_positions(server: LiveServer,
                                                        new_client: Callable[[str], Client]) -> None:
    before = operator_status(server)
    assert before["status"] == "ok" and before["event_position"] == 0
    register(new_client("a"))
    register(new_client("b"), credentials__org_short="PraxisB",
             plan="plus", billing={"account_holder": "B", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
                                   "sepa_mandate": True})
    status = operator_status(server)
    assert status["database"] == ("sqlite" if server.settings.embedded else "postgres")
    assert status["event_position"] >= 8
    assert status["projections"]["organisations"] == status["event_position"]  # read-your-writes
    assert status["organisations"] == {"basis": 1, "plus": 1}
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}


def test_the_public_status_says_only_up(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    register(new_client("a"))
    public = httpx.get(server.url + "/api/v1/status")
    assert public.status_code == 200 and public.json() == {"status": "up"}
    for wrong in ("Bearer " + OPERATOR_TOKEN[:-1] + "X", "Bearer " + OPERATOR_TOKEN + "X", "Basic x"):
        answer = httpx.get(server.url + "/api/v1/status", headers={"Authorization": wrong})
        assert answer.status_code == 401 and "organisations" not in answer.text
    assert "organisations" in operator_status(server)


def test_read_models_rebuild_from_the_event_log(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    register(new_client("a"))
    container = server.container
    container.projections.rebuild()
    status = operator_status(server)
    assert status["organisations"] == {"basis": 1}
    assert status["projections"]["organisations"] == status["event_position"]
