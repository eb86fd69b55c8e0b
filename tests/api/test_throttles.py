"""Per-address throttles (issue 10.6, 10.4, 10.9): registration per address and per network, auth/start per
address, each a German 429 with Retry-After; and the address they count is the connection's own unless the
connection comes from a proxy named in SPRECHZIMMER_TRUSTED_PROXIES."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from application import access, registration
from infrastructure.settings import Settings
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from tests.conftest import TEST_ORIGIN, Clock, LiveServer, seed_form, split_form


@pytest.fixture(scope="module")
def registration_body(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The exact body the SDK sends for the seed organisation (captured once, not sent)."""
    captured: dict[str, Any] = {}

    def capture(request: httpx.Request) -> httpx.Response:
        captured.update(json.loads(request.content))
        return httpx.Response(201, json={})

    client = Client(TEST_ORIGIN, LocalStore(tmp_path_factory.mktemp("capture")),
                    transport=httpx.MockTransport(capture))
    form, secrets = split_form(seed_form())
    client.register(form, *secrets)
    return captured


@pytest.fixture
def behind_proxy(settings: Settings, clock: Clock) -> Iterator[LiveServer]:
    """A server that believes X-Forwarded-For from the loopback proxy, as behind a reverse proxy."""
    with LiveServer(dataclasses.replace(settings, trusted_proxies=("127.0.0.1/32",)), clock) as live:
        yield live


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def start(server: LiveServer, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(server.url + "/api/v1/auth/start", headers=headers, json={
        "org": "PWinkler", "user": "MartinW", "device_id": "dev-1", "origin": TEST_ORIGIN})


def assert_throttled(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    wait = int(answer.headers["Retry-After"])
    assert 0 < wait <= 3600
    assert answer.json()["detail"] == f"Zu viele Versuche. Bitte in {wait} Sekunden erneut versuchen."


def test_forwarded_for_is_ignored_from_an_untrusted_peer(server: LiveServer) -> None:
    """Before: X-Forwarded-For from 127.0.0.1 was believed, so every failed login could claim a new network
    and the per-network login throttle (20 failures / 10 minutes) never struck."""
    for n in range(access.IP_LIMIT):
        answer = httpx.post(server.url + "/api/v1/auth/finish", headers=forwarded(f"10.{n}.0.1"),
                            json={"challenge_id": "x" * 32, "sig_pw": "00" * 64, "sig_dev": "00" * 64})
        assert answer.status_code == 401
    assert_throttled(httpx.post(server.url + "/api/v1/auth/finish", headers=forwarded("10.99.0.1"),
                                json={"challenge_id": "x" * 32, "sig_pw": "00" * 64, "sig_dev": "00" * 64}))


def test_auth_start_is_throttled_per_address(behind_proxy: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "START_LIMIT", 5)
    for _ in range(5):
        assert start(behind_proxy, forwarded("198.51.100.7")).status_code == 200
    assert_throttled(start(behind_proxy, forwarded("198.51.100.7")))
    # Another client (behind the trusted proxy) is not affected: the forwarded address is the one counted.
    assert start(behind_proxy, forwarded("198.51.100.8")).status_code == 200
    # An IPv6 subscriber holds a whole /64: a fresh address from it is the same client.
    for n in range(5):
        assert start(behind_proxy, forwarded(f"2001:db8:1:2::{n + 1}")).status_code == 200
    assert_throttled(start(behind_proxy, forwarded("2001:db8:1:2::99")))
    assert start(behind_proxy, forwarded("2001:db8:1:3::1")).status_code == 200


def test_registration_is_throttled_per_address(server: LiveServer, registration_body: dict[str, Any]) -> None:
    """Before: 160 registrations in 25 s from one address, each leaving rows in the keystore."""
    answers = [httpx.post(server.url + "/api/v1/registrations", json=registration_body)
               for _ in range(registration.PER_ADDRESS)]
    assert [a.status_code for a in answers] == [201] + [409] * (registration.PER_ADDRESS - 1)
    assert_throttled(httpx.post(server.url + "/api/v1/registrations", json=registration_body))


def test_registration_is_throttled_per_network(behind_proxy: LiveServer,
                                               registration_body: dict[str, Any]) -> None:
    """Changing the address within one network (/24) does not escape the limit; another network is unaffected."""
    per_address = registration.PER_ADDRESS
    for n in range(registration.PER_NETWORK):
        address = f"203.0.113.{n // per_address + 1}"
        answer = httpx.post(behind_proxy.url + "/api/v1/registrations", json=registration_body,
                            headers=forwarded(address))
        assert answer.status_code in (201, 409), answer.text
    assert_throttled(httpx.post(behind_proxy.url + "/api/v1/registrations", json=registration_body,
                                headers=forwarded("203.0.113.200")))
    other = httpx.post(behind_proxy.url + "/api/v1/registrations", json=registration_body,
                       headers=forwarded("192.0.2.10"))
    assert other.status_code == 409  # reaches the use case: the seed organisation exists already
