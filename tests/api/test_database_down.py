"""When PostgreSQL goes away, the API answers 503 in German instead of failing with a 500."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import psycopg
import pytest

from infrastructure.settings import Settings
from interfaces.bootstrap import Container, build
from interfaces.client.sdk import ApiError, Client
from tests.conftest import TEST_DATABASE_URL, LiveServer, register


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


def _directory_size(container: Container) -> int:
    with container.state_db.transaction() as cur:
        return int(cur.execute("SELECT COUNT(*) FROM rm_organisations").fetchone()[0])


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_workers_projection_thread_survives_a_database_outage(
        settings: Settings, server: LiveServer, new_client: Callable[[str], Client]) -> None:
    server.container.services.after_save = lambda position: None  # the read models are the worker's job
    worker = build(settings, catch_up_after_save=False)
    thread = worker.projections.start_thread(interval=0.2)
    database = settings.database_url
    assert database and TEST_DATABASE_URL
    name = database.rsplit("/", 1)[1]
    try:
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:  # the outage: nobody gets in
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            time.sleep(3)  # the worker meets the dead connections and the refused reconnects
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert thread.is_alive()
        for attempt in range(10):  # the web process's pools notice the dead connections on first use
            try:
                register(new_client(f"a{attempt}"))
                break
            except ApiError as error:
                assert error.status == 503
        deadline = time.monotonic() + 30
        while _directory_size(worker) == 0:
            assert time.monotonic() < deadline, "the worker's read models stopped after the outage"
            time.sleep(0.2)
        assert thread.is_alive()
    finally:
        worker.close()
