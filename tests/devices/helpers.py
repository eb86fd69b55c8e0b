"""Test helpers: an admin with a logged-in first device, enrolled and approved further devices, and a
man-in-the-middle transport that rewrites the server's JSON answers (a malicious server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from interfaces.client import devices
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, register

ORG, ADMIN = "PWinkler", "MartinW"
STAFF_PASSWORD = "Anna#Empfang2024"


def admin_client(new_client: Callable[[str], Client]) -> Client:
    admin = new_client("laptop-martin")
    register(admin)
    admin.login(ORG, ADMIN, PASSWORD)
    return admin


def approved_device(admin: Client, new_client: Callable[[str], Client], name: str, user: str = ADMIN,
                    password: str = PASSWORD) -> Client:
    device = new_client(name)
    enrolment = devices.enroll(device, ORG, user, password, name)
    devices.approve(admin, enrolment.device_id, enrolment.pairing_code)
    device.login(ORG, user, password)
    return device


class Rewriting(httpx.HTTPTransport):
    """Passes requests to the real server and lets `rewrite(path, body)` change JSON answers."""

    def __init__(self, rewrite: Callable[[str, dict[str, Any]], dict[str, Any]]):
        super().__init__()
        self.rewrite = rewrite

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        if response.status_code != 200 or not response.content:
            return response
        body = self.rewrite(request.url.path, json.loads(response.content))
        return httpx.Response(response.status_code, json=body, request=request)


def tampered_client(base: Client, rewrite: Callable[[str, dict[str, Any]], dict[str, Any]]) -> Client:
    """A second SDK object over the same local device storage, talking through a malicious server."""
    assert isinstance(base.store, LocalStore)
    return Client(base.origin, LocalStore(base.store.directory), transport=Rewriting(rewrite))
