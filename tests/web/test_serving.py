"""The browser app is served by the falcon app itself (design/web.md): the practice app at / with SPA
fallback, the patient page at /join, /api and /ws never falling back, immutable hashed assets,
pre-compressed files, and the CSP on every page — with nothing requested from another origin."""

from __future__ import annotations

import gzip
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from interfaces.http.web import CSP
from tests.conftest import LiveServer
from tests.web.conftest import WebPage


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Raw bytes and headers, without any client-side decompression."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_practice_app_loads_within_its_csp_and_origin(web: WebPage) -> None:
    response = web.goto("/")
    assert response.status == 200
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["cache-control"] == "no-store"
    web.page.get_by_role("heading", name="Anmelden").wait_for()  # rendered by the app's script
    assert web.page.url == web.origin + "/anmelden"
    assert web.csp_violations() == []
    assert web.foreign_requests == []


def test_patient_page_loads_and_checks_the_code(web: WebPage) -> None:
    response = web.goto("/join")
    assert response.status == 200
    assert response.headers["content-security-policy"] == CSP
    web.page.get_by_role("heading", name="Videosprechstunde beitreten").wait_for()
    code = web.page.get_by_label("Zugangscode")
    code.fill("1234")
    web.page.get_by_role("button", name="Weiter").click()
    assert "zwölfstelligen Zugangscode" in web.page.get_by_role("alert").inner_text()
    assert code.get_attribute("aria-invalid") == "true"
    code.fill("7kwz aeax ct2a")  # forgiving input, as printed on the invitation but typed in lower case
    web.page.get_by_role("button", name="Weiter").click()
    # The right format is checked with the server (by its join token only): no such appointment.
    web.page.get_by_text("Der Zugangscode ist ungültig oder abgelaufen.").wait_for(timeout=30_000)
    assert web.csp_violations() == []
    assert web.foreign_requests == []


def test_code_in_the_fragment_fills_the_field(web: WebPage) -> None:
    web.goto("/join#7KWZ-AEAX-CT2A")
    assert web.page.get_by_label("Zugangscode").input_value() == "7KWZ-AEAX-CT2A"


def test_api_and_ws_never_fall_back_but_app_paths_do(server: LiveServer) -> None:
    for path in ("/api/unknown", "/api/v1/nothing/here", "/ws/unknown"):
        status, headers, body = fetch(server.url + path)
        assert status == 404, path
        assert headers["content-type"].startswith("application/problem+json"), path
        assert json.loads(body)["detail"] == "Diese Adresse gibt es nicht."
    status, headers, body = fetch(server.url + "/api/openapi.json")
    assert status == 200 and json.loads(body)["openapi"].startswith("3.")
    for path in ("/termine", "/stammdaten/benutzer", "/"):
        status, headers, body = fetch(server.url + path)
        assert status == 200, path
        assert headers["content-type"].startswith("text/html")
        assert b'<div id="app">' in body
        assert headers["content-security-policy"] == CSP
        assert headers["cache-control"] == "no-store"
    status, headers, body = fetch(server.url + "/join")
    assert status == 200 and b'<div id="join">' in body and headers["content-security-policy"] == CSP


def asset_paths(html: bytes) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html.decode())


def test_hashed_assets_are_immutable_and_precompressed(server: LiveServer, web_dist: Path) -> None:
    _, _, html = fetch(server.url + "/")
    scripts = [p for p in asset_paths(html) if p.endswith(".js")]
    assert scripts, "index.html references no script"
    path = scripts[0]
    raw = (web_dist / path.lstrip("/")).read_bytes()

    status, headers, body = fetch(server.url + path, **{"Accept-Encoding": "identity"})
    assert status == 200 and body == raw
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-type"].startswith("text/javascript")
    assert "content-encoding" not in headers

    status, headers, body = fetch(server.url + path, **{"Accept-Encoding": "gzip, deflate"})
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == raw
    assert headers["vary"] == "Accept-Encoding"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"

    status, headers, body = fetch(server.url + path, **{"Accept-Encoding": "gzip, br"})
    assert headers["content-encoding"] == "br"
    assert body == (web_dist / (path.lstrip("/") + ".br")).read_bytes() and len(body) < len(raw)

    status, headers, _ = fetch(server.url + path, **{"Accept-Encoding": "br;q=0, gzip"})
    assert headers["content-encoding"] == "gzip"

    for missing in ("/assets/nothing-1234.js", path + ".br", "/assets/..%2Findex.html"):
        status, headers, _ = fetch(server.url + missing)
        assert status == 404, missing


def test_without_a_build_the_app_explains_itself(server: LiveServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPRECHZIMMER_WEB_DIST", str(tmp_path / "empty"))
    status, headers, body = fetch(server.url + "/termine")
    assert status == 503
    assert "make run" in body.decode() and "noch nicht gebaut" in body.decode()
    assert headers["content-security-policy"] == CSP
    status, _, _ = fetch(server.url + "/api/openapi.json")
    assert status == 200


def test_unknown_websocket_path_is_refused(server: LiveServer) -> None:
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    url = server.url.replace("http://", "ws://") + "/ws/unknown"
    refused: Any = None
    try:
        with connect(url, open_timeout=5) as ws:
            ws.recv(timeout=5)
    except (InvalidStatus, ConnectionClosed) as error:
        refused = error
    assert refused is not None
