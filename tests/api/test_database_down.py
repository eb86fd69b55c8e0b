"""When PostgreSQL goes away, the API answers 503 in German instead of failing with a 500."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.conftest import TEST_DATABASE_URL, LiveServer


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_requests_get_503_while_the_database_is_gone(server: LiveServer) -> None:
    assert httpx.get(server.url + "/api/v1/status").status_code == 200
    database = server.settings.database_url
    assert database and TEST_DATABASE_URL
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{database.rsplit("/", 1)[1]}" WITH (FORCE)')
    for path, body in [("/api/v1/status", None),
                       ("/api/v1/auth/start", {"org": "PWinkler", "user": "MartinW", "device_id": "d",
                                               "origin": server.url})]:
        answer = httpx.request("POST" if body else "GET", server.url + path, json=body, timeout=30)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "vorübergehend nicht verfügbar" in answer.json()["detail"]
