"""Read models follow the event log in a separate process-like runner: on PostgreSQL woken by NOTIFY."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infrastructure.settings import Settings
from infrastructure.sql import Cursor
from interfaces.bootstrap import Container, build
from interfaces.client.sdk import Client
from projections.runner import ProjectionRunner
from tests.conftest import LiveServer, operator_status, register


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


class Broken:
    """A read model with a bug: it fails on every organisation's registration, quoting the event's data."""

    name = "kaputt"

    def __init__(self) -> None:
        self.attempts = 0

    def schema(self) -> list[str]:
        return []

    def apply(self, event: Any, cur: Cursor) -> None:
        if type(event).__name__ == "Registered":
            self.attempts += 1
            raise ValueError(f"cannot handle {vars(event)}")

    def clear(self, cur: Cursor) -> None:
        pass


def test_a_failing_projection_is_isolated_retried_with_back_off_and_shown_in_the_status(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    container = server.container
    broken = Broken()
    now = [time.time()]
    # The broken read model comes first: the ones after it must still follow the log.
    runner = ProjectionRunner(container.services.events, container.state_db,
                              [broken, *container.projections.projections], now=lambda: now[0])
    container.projections = runner
    container.services.after_save = lambda position: runner.catch_up()

    register(new_client("a"))
    position = container.services.events.position()
    positions = runner.positions()
    assert positions["kaputt"] < position
    assert all(positions[p.name] == position for p in runner.projections if p.name != "kaputt")
    status = operator_status(server)
    assert status["status"] == "degraded"
    fault = status["projection_faults"]["kaputt"]
    assert "konnte nicht verarbeitet werden (ValueError)" in fault["error"]
    assert "Winkler" not in json.dumps(status) and "PWinkler" not in json.dumps(status)  # no event data
    assert fault["failures"] == 1 and fault["next_attempt"] > fault["since"]
    assert set(status["projection_faults"]) == {"kaputt"}

    attempts = broken.attempts
    runner.catch_up()  # within the back-off: not tried again
    assert broken.attempts == attempts
    now[0] += 1.5  # after the first back-off: tried again, and the back-off grows
    runner.catch_up()
    assert broken.attempts == attempts + 1
    second = runner.faults()["kaputt"]
    assert second.failures == 2 and second.retry_at - now[0] > 1.5

    broken.apply = lambda event, cur: None  # type: ignore[method-assign]  # the bug is fixed
    now[0] = second.retry_at + 0.1
    runner.catch_up()
    assert runner.faults() == {}
    assert runner.positions()["kaputt"] == container.services.events.position()
    assert operator_status(server)["status"] == "ok"
