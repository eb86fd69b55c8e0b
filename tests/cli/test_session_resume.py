"""The SDK side of one session per login: a later process reopens the keyring from the saved session with the
checks of a login, and refuses a keyring the organisation did not sign."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from interfaces.client.sdk import Client, TamperingDetected
from tests.conftest import PASSWORD, LiveServer, register


class ForgedGrant(httpx.HTTPTransport):
    """A server that hands out a grant under a signature the organisation never made."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path != "/api/v1/session":
            return response
        body = json.loads(response.read())
        body["grant"]["sig"] = "00" * 64
        return httpx.Response(response.status_code, json=body)


def test_a_later_process_resumes_the_session_with_the_same_keyring(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    first = new_client("a")
    register(first)
    logged_in = first.login("PWinkler", "MartinW", PASSWORD)

    later = Client(server.url, first.store)
    resumed = later.resume("pwinkler", " MartinW ")
    assert resumed is not None and resumed.token == logged_in.token
    assert resumed.keyring.to_json() == logged_in.keyring.to_json() and resumed.role == "admin"
    assert later.whoami()["user_short"] == "MartinW"
    assert later.resume("PWinkler", "AnnaM") is None  # another user logs in with their own password

    forged = Client(server.url, first.store, transport=ForgedGrant())
    with pytest.raises(TamperingDetected):
        forged.resume("PWinkler", "MartinW")

    later.close()
    forged.close()
    first.logout()
    after_logout = Client(server.url, first.store)
    assert after_logout.resume("PWinkler", "MartinW") is None
    after_logout.close()
