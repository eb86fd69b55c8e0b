"""Fixtures of the appointment tests: a real local SMS gateway (HTTP) wired into the server's settings,
and logged-in practice clients of the seed organisation in either plan."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infrastructure.settings import Settings
from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, free_port, register

PLUS_BILLING = {"account_holder": "Dr. med. Martin Winkler", "iban": "DE89 3704 0044 0532 0130 00",
                "bic": "COBADEFFXXX", "sepa_mandate": True}


class SmsGatewayServer:
    """Receives what the server's SMS adapter posts; `failing = True` makes it answer 503."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.failing = False
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                if gateway.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                gateway.received.append({"body": body, "idempotency_key": self.headers.get("Idempotency-Key"),
                                         "authorization": self.headers.get("Authorization")})
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "queued"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def texts_to(self, number: str) -> list[str]:
        return [r["body"]["text"] for r in self.received if r["body"]["to"] == number]


@pytest.fixture
def sms_gateway() -> Iterator[SmsGatewayServer]:
    gateway = SmsGatewayServer()
    gateway.thread.start()
    try:
        yield gateway
    finally:
        gateway.httpd.shutdown()
        gateway.httpd.server_close()


@pytest.fixture
def settings(settings: Settings, sms_gateway: SmsGatewayServer) -> Settings:
    return replace(settings, sms_gateway_url=sms_gateway.url, sms_gateway_token="test-token")


@pytest.fixture
def practice(new_client: Callable[[str], Client]) -> Callable[..., Client]:
    """A registered and logged-in practice client (Praxis Winkler) in the given plan."""

    def make(plan: str = "basis", name: str = "praxis") -> Client:
        client = new_client(name)
        if plan == "plus":
            register(client, plan="plus", billing=PLUS_BILLING)
        else:
            register(client)
        client.login("PWinkler", "MartinW", PASSWORD)
        return client

    return make
