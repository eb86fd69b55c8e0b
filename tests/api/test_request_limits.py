"""Request bodies are bounded however they arrive (issue 10.1): a chunked body without Content-Length is cut
off at 64 KiB with a German 413 before the client has finished sending, and deeply nested JSON is a 400."""

from __future__ import annotations

import json
import select
import socket
from urllib.parse import urlsplit

import httpx

from tests.conftest import LiveServer

CHUNK = b"x" * 16 * 1024


def _response_head(sock: socket.socket) -> bytes:
    """What the server answered, read until the end of the headers and the body (or until it closes)."""
    sock.settimeout(15)
    received = b""
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return received
        if not data:
            return received
        received += data


def test_chunked_body_over_the_limit_is_refused_before_it_ends(server: LiveServer) -> None:
    """Before: the server read all of a chunked body into memory (250 MB uploads grew a worker to 1.5 GiB)."""
    address = urlsplit(server.url)
    sock = socket.create_connection((address.hostname, address.port), timeout=15)
    sock.sendall(b"POST /api/v1/auth/start HTTP/1.1\r\nHost: sprechzimmer\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    sent = 0
    try:
        # Four times the limit, then the client stops mid-body: only a server that gives up at the limit
        # answers now; one that reads to the end of the body would wait for the terminating chunk.
        while sent < 4 * 64 * 1024:
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
            sent += len(CHUNK)
    except OSError:
        pass  # the server has closed the connection: it stopped reading
    answer = _response_head(sock)
    sock.close()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" in head.lower()
    assert json.loads(body)["detail"] == "Die Anfrage ist zu groß (höchstens 64 KiB)."
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


def test_chunked_body_within_the_limit_is_read(server: LiveServer) -> None:
    """The limit does not refuse a small chunked body: it reaches validation like any other."""
    def chunks():  # httpx sends a generator with Transfer-Encoding: chunked
        yield b'{"org": "praxis-winkler", '
        yield b'"user": "winkler", "device_id": "dev-1", "origin": "http://sprechzimmer.test"}'

    response = httpx.post(server.url + "/api/v1/auth/start", content=chunks(),
                          headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 200, response.text
    assert set(response.json()) >= {"challenge_id", "nonce", "salt", "kdf"}


def test_deeply_nested_json_is_a_400(server: LiveServer) -> None:
    """Before: JSON nested 1,000 deep ended in a RecursionError and a 500."""
    for path in ("/api/v1/auth/start", "/api/v1/registrations"):
        for body in ("[" * 1000 + "]" * 1000, '{"org": ' + '{"a": ' * 1000 + "1" + "}" * 1001):
            response = httpx.post(server.url + path, content=body, headers={"Content-Type": "application/json"},
                                  timeout=10)
            assert response.status_code == 400, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"] == "Die Daten sind zu tief verschachtelt (höchstens 32 Ebenen)."
    # Brackets inside strings are text, not nesting.
    response = httpx.post(server.url + "/api/v1/auth/start", timeout=10, json={
        "org": "[" * 60, "user": "{" * 60, "device_id": "dev-1", "origin": "http://sprechzimmer.test"})
    assert response.status_code == 200, response.text
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
