"""Bad input to every endpoint of this context is a German 4xx problem, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from interfaces.client.sdk import Client
from tests.conftest import LiveServer
from tests.devices.helpers import admin_client

PATHS = [
    "/api/v1/auth/fresh", "/api/v1/devices/enroll", "/api/v1/devices/enroll/tag", "/api/v1/devices/enroll/status",
    "/api/v1/devices/dev-x/approve", "/api/v1/devices/dev-x/rename", "/api/v1/devices/dev-x/lock",
    "/api/v1/devices/dev-x/unlock", "/api/v1/devices/dev-x/revoke", "/api/v1/devices/..%2f/approve",
    "/api/v1/users", "/api/v1/users/AnnaS/deactivate", "/api/v1/users/AnnaS/password",
    "/api/v1/users/AnnaS/certificate", "/api/v1/users/x/deactivate", "/api/v1/invites", "/api/v1/invites/redeem",
    "/api/v1/password", "/api/v1/masterpassword", "/api/v1/recovery/start", "/api/v1/recovery/finish",
    "/api/v1/recovery/complete",
]
BODIES = [{}, {"proof": {"challenge_id": "x", "sig": "zz"}}, {"challenge_id": 5, "name": ["x"], "grant": "x"},
          {"unbekannt": 1}]


def test_bad_bodies_give_german_4xx(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    admin = admin_client(new_client)
    token = admin.session.token  # type: ignore[union-attr]
    with httpx.Client(base_url=server.url) as http:
        for path in PATHS:
            for body in BODIES:
                for headers in ({}, {"Authorization": f"Bearer {token}"}):
                    response = http.post(path, json=body, headers=headers)
                    assert 400 <= response.status_code < 500, (path, body, response.text)
                    assert response.headers["content-type"].startswith("application/problem+json")
                    assert response.json()["detail"]
            response = http.post(path, content=b"{kein json", headers={"Authorization": f"Bearer {token}",
                                                                       "Content-Type": "application/json"})
            assert 400 <= response.status_code < 500, (path, response.text)
        response = http.put("/api/v1/stammdaten", json={"organisation": "x"}, headers={"Authorization":
                                                                                        f"Bearer {token}"})
        assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/devices", "/api/v1/users", "/api/v1/notices", "/api/v1/stammdaten",
                                  "/api/v1/masterpassword"])
def test_reading_needs_a_session(server: LiveServer, path: str) -> None:
    assert httpx.get(server.url + path).status_code == 401
