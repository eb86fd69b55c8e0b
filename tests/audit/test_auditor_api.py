"""Auditor access without operator rights (issue 14): a read-only token issued by the operator's CLI opens the
envelopes and the checkpoints and nothing else; payloads stay with the operator's CLI, whose every use is itself
recorded in the chained history."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import httpx
import pytest

from interfaces.cli.main import main
from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, LiveServer, register, server_env


@pytest.fixture
def cli_env(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's CLI (run in this process) sees the server's store."""
    for name in ("DATABASE_URL", "KEYSTORE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in server_env(server.settings).items():
        if name.startswith(("SPRECHZIMMER_", "SEPA_", "SELLER_")) or name in ("DATABASE_URL", "KEYSTORE_URL"):
            monkeypatch.setenv(name, value)


def issue(capsys: pytest.CaptureFixture[str], name: str) -> tuple[str, str]:
    assert main(["audit", "token", "issue", name]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    return lines[0].split()[1], lines[-1]


def test_an_auditor_token_reads_envelopes_and_checkpoints_and_nothing_else(
        server: LiveServer, new_client: Callable[[str], Client], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    client = new_client("device-a")
    register(client)
    practice = client.login("PWinkler", "MartinW", PASSWORD).token
    token_id, token = issue(capsys, "Prüferin Weber")
    assert main(["audit", "checkpoint"]) == 0
    capsys.readouterr()
    auditor = {"Authorization": f"Bearer {token}"}

    with httpx.Client(base_url=server.url, headers=auditor) as http:
        page = http.get("/api/v1/audit/events", params={"limit": 3})
        assert page.status_code == 200
        items = page.json()["items"]
        assert [i["position"] for i in items] == [1, 2, 3] and page.json()["next_after"] == 3
        assert all(len(i["digest"]) == 64 and len(i["chain"]) == 64 and i["type"] for i in items)
        assert not any(key in i for i in items for key in ("payload", "state"))
        everything = http.get("/api/v1/audit/events", params={"limit": 1000}).json()["items"]
        checkpoints = http.get("/api/v1/audit/checkpoints").json()["items"]
        assert checkpoints[-1]["position"] == everything[-1]["position"]
        assert checkpoints[-1]["head"] == everything[-1]["chain"]
        assert http.get("/api/v1/audit/events", params={"limit": "viele"}).status_code == 400
        assert http.get("/api/v1/session", headers={"Authorization": f"Bearer {practice}"}).status_code == 200
        for path in ("/api/v1/session", "/api/v1/devices", "/api/v1/appointments", "/api/v1/contract",
                     "/api/v1/calls/log", "/api/v1/notices"):
            assert http.get(path).status_code in (401, 403), path

    for headers in ({}, {"Authorization": f"Bearer {practice}"}, {"Authorization": "Bearer szaudit_falsch"}):
        assert httpx.get(server.url + "/api/v1/audit/events", headers=headers).status_code == 401

    assert main(["audit", "token", "list"]) == 0
    assert f"{token_id}  Prüferin Weber" in capsys.readouterr().out
    assert main(["audit", "token", "revoke", token_id]) == 0
    assert httpx.get(server.url + "/api/v1/audit/checkpoints", headers=auditor).status_code == 401


def test_every_use_of_events_payload_is_recorded_in_the_history(
        server: LiveServer, new_client: Callable[[str], Client], cli_env: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    register(new_client("device-a"))
    _, token = issue(capsys, "Prüfer")
    before = server.container.services.events.position()
    assert main(["events", "--payload"]) == 0
    capsys.readouterr()
    items = httpx.get(server.url + "/api/v1/audit/events", params={"after": before},
                      headers={"Authorization": f"Bearer {token}"}).json()["items"]
    assert [i["type"] for i in items] == ["sprechzimmer.PayloadDisclosure.Created"]
    record = server.container.services.events.get(UUID(items[0]["stream"]))
    assert (record.first_position, record.last_position) == (1, before) and "@" in record.who
