"""Read models follow the event log in a separate process-like runner: on PostgreSQL woken by NOTIFY."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from infrastructure.settings import Settings
from interfaces.bootstrap import Container, build
from interfaces.client.sdk import Client
from tests.conftest import LiveServer, register


@pytest.fixture
def worker(settings: Settings) -> Iterator[Container]:
    """What `sprechzimmer worker` runs: the projection loop, here with a long fallback interval."""
    container = build(settings, catch_up_after_save=False)
    container.projections.start_thread(interval=30.0)
    try:
        yield container
    finally:
        container.close()


def directory_size(container: Container) -> int:
    with container.state_db.transaction() as cur:
        return int(cur.execute("SELECT COUNT(*) FROM rm_organisations").fetchone()[0])


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_worker_projects_new_events_at_once_through_notify(worker: Container, server: LiveServer,
                                                           new_client: Callable[[str], Client]) -> None:
    server.container.services.after_save = lambda position: None  # the web process leaves it to the worker
    register(new_client("a"))
    deadline = time.monotonic() + 5  # far less than the 30 s fallback: the NOTIFY woke the worker
    while directory_size(worker) == 0:
        assert time.monotonic() < deadline, "the worker did not pick up the new event"
        time.sleep(0.05)
