"""Two administrators cancel at the same moment (issue 9.6): one wins, the other gets a German 409 — never a
500 — and the contract holds exactly one cancellation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest

from application import contracts
from domain.contract import Contract
from interfaces.client.contract import contract_proof
from interfaces.client.sdk import Client
from tests.conftest import Clock, LiveServer
from tests.contract.helpers import practice


def test_two_parallel_cancels_give_one_success_and_one_409(server: LiveServer, clock: Clock,
                                                           new_client: Callable[[str], Client],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    client, result = practice(new_client, clock, date(2026, 5, 4))
    assert client.session is not None
    token = client.session.token

    # Both requests load the contract before either saves: exactly the race optimistic concurrency decides.
    both_loaded = threading.Barrier(2, timeout=10)
    admin = contracts._admin

    def admin_then_wait(*args: Any) -> Any:
        found = admin(*args)
        both_loaded.wait()
        return found

    monkeypatch.setattr(contracts, "_admin", admin_then_wait)
    answers: list[httpx.Response] = []
    # cancelling is a sensitive action: each request carries its own fresh device signature (issue 10.9)
    proofs = [contract_proof(client, "contract-cancel") for _ in range(2)]

    def cancel(proof: dict[str, str]) -> None:
        answers.append(httpx.post(server.url + "/api/v1/contract/cancellation", json={"confirm": True, "proof": proof},
                                  headers={"Authorization": f"Bearer {token}"}, timeout=30))

    threads = [threading.Thread(target=cancel, args=(proof,)) for proof in proofs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answer.status_code for answer in answers) == [201, 409]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "gleichzeitig geändert" in refused.json()["detail"]
    stored = server.container.services.events.get(Contract.id_for(UUID(result["org_id"])))
    assert stored.ends_on == "2026-09-30" and stored.version == 2  # concluded, cancelled once
