"""Secrets stay out of logs (issue 10.7), request lines go to daily files that retention can delete (issue 15.3)
and X-Forwarded-For is not believed by default (issue 10.9), with the production server: `sprechzimmer serve`
(gunicorn + uvicorn workers) in a subprocess, its logs read back."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.calls.media import ServeProcess
from tests.conftest import free_port

SECRET = "geheim-4711-token"


@pytest.fixture
def serve(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[ServeProcess, Path]]:
    env = {"SPRECHZIMMER_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": "", "KEYSTORE_URL": "",
           "SPRECHZIMMER_TRUSTED_PROXIES": "",
           "SPRECHZIMMER_INSECURE_DEV": "1"}  # one database for events and keys is fine for this test
    if backend == "postgres":
        url = request.getfixturevalue("postgres_url")
        env |= {"DATABASE_URL": url, "KEYSTORE_URL": url}
    log = tmp_path / "serve.log"
    process = ServeProcess(free_port(), env, 1, log)
    try:
        process.wait_ready(1)
        yield process, log
    finally:
        process.stop()


def websocket_attempt(url: str, path: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        sock.recv(4096)


def test_request_lines_are_logged_without_query_strings(serve: tuple[ServeProcess, Path]) -> None:
    """Before: uvicorn's access log held every query string, e.g. /ws/v1/calls?token=…"""
    process, log = serve
    assert httpx.get(process.url + f"/healthz?token={SECRET}").status_code == 200
    httpx.get(process.url + f"/api/v1/status?code={SECRET}", headers={"X-Forwarded-For": "203.0.113.9"})
    websocket_attempt(process.url, f"/ws/v1/calls?token={SECRET}")
    # Request lines go to one file per day under the data directory (deleted by retention after three months),
    # WebSocket attempts to the error log on stdout.
    access_dir = log.parent / "var" / "log"

    def access_lines() -> str:
        return "".join(path.read_text() for path in sorted(access_dir.glob("access-*.log")))

    deadline = time.monotonic() + 10
    while "/api/v1/status" not in access_lines() and time.monotonic() < deadline:
        time.sleep(0.1)  # the access log is written after the response
    files = list(access_dir.glob("access-*.log"))
    assert [path.stat().st_mode & 0o777 for path in files] == [0o600]
    text = access_lines() + log.read_text()
    assert "/healthz" in text and "/api/v1/status" in text  # the request lines are there …
    assert SECRET not in text and "token=" not in text and "code=" not in text  # … their query strings not
    assert "203.0.113.9" not in text  # the client's own X-Forwarded-For was not believed
    requests = [line for line in text.splitlines() if "/healthz" in line or "/api/v1/status" in line]
    assert requests and all("127.0.0.0" in line and "127.0.0.1" not in line for line in requests)  # no full IP


@pytest.mark.parametrize(("client", "logged"), [
    ("203.0.113.97:51234", "203.0.113.0"), ("[2001:db8:1234:5678::1]:443", "2001:db8:1234::/48"),
    ("2001:db8:1234:5678::1:443", "2001:db8:1234::/48"), ("GET", "GET"), ("1.1", "1.1"), ("/healthz", "/healthz"),
])
def test_log_lines_carry_no_full_ip(client: str, logged: str) -> None:
    from interfaces.server import _truncated_address

    assert _truncated_address(client) == logged
