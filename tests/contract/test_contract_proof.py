"""Plan changes and cancellation are sensitive actions (issue 10.9): a stolen session token alone cannot
cancel a practice's contract (which schedules the erasure of all its data) or change its plan; the SDK adds
the fresh device signature and keeps working."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

from interfaces.client import contract
from interfaces.client.devices import proof
from interfaces.client.sdk import Client
from tests.conftest import LiveServer, MailBox
from tests.contract.helpers import BANK, practice

MSG_PROOF = "Die Bestätigung durch dieses Gerät fehlt oder ist abgelaufen. Bitte den Vorgang wiederholen."


def test_a_session_token_alone_changes_no_contract(server: LiveServer, clock: Any, mailbox: MailBox,
                                                   new_client: Callable[[str], Client]) -> None:
    client, _ = practice(new_client, clock, date(2026, 3, 10), plan="plus", billing=BANK)
    assert client.session is not None
    stolen = {"Authorization": f"Bearer {client.session.token}"}
    url = server.url + "/api/v1/contract"
    bogus = {"challenge_id": "0" * 32, "sig": "00" * 64}
    for path, body in [("/cancellation", {"confirm": True}), ("/downgrade", {}), ("/upgrade", BANK)]:
        missing = httpx.post(url + path, json=body, headers=stolen)
        assert missing.status_code == 400 and "proof" in missing.json()["errors"], missing.text
        forged = httpx.post(url + path, json={**body, "proof": bogus}, headers=stolen)
        assert forged.status_code == 403 and forged.json()["detail"] == MSG_PROOF
    # A signature made for another action does not carry over (bound to action and organisation).
    signed, _, _ = proof(client, "contract-downgrade", client.session.org_id)
    replayed = httpx.post(url + "/cancellation", json={"confirm": True, "proof": signed}, headers=stolen)
    assert replayed.status_code == 403
    view = contract.show(client)
    assert view["ends_on"] is None and view["next_plan"] is None  # nothing changed

    # The SDK signs with the device and the practice can still do all of it.
    assert contract.downgrade(client)["next_plan"] == "basis"
    assert contract.cancel(client, True)["ends_on"] is not None
