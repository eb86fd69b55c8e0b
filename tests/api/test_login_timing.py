"""No oracle for organisation names (issue 10.4): auth/start costs the same for a known organisation as for an
unknown one, because both are answered by one read-model query instead of a replay of the organisation's
events. The precise figure is in bench/foundation.py ("login start, known vs unknown organisation")."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest

from application import access
from interfaces.client.sdk import Client
from tests.conftest import LiveServer, register

SAMPLES = 300
HISTORY = 100


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return q1, median, q3


def test_known_and_unknown_organisations_cost_the_same(server: LiveServer, new_client: Callable[[str], Client],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    client = new_client("laptop-martin")
    register(client)
    device = client.store.device(client.origin, "pwinkler")
    assert device is not None
    services = server.container.services
    # The organisation gets a history, as a practice in use has (Stammdaten edited now and then): before,
    # every one of its events was replayed to answer auth/start.
    organisation = services.events.organisation_by_short_name("PWinkler")
    assert organisation is not None
    for _ in range(HISTORY):
        organisation.change_profile(organisation.profile["organisation"], organisation.profile["address"],
                                    organisation.profile["main_user"], "martinw")
    services.events.save(organisation)
    monkeypatch.setattr(access, "START_LIMIT", 10 * SAMPLES)  # the per-address throttle is tested elsewhere

    def timed(org: str) -> float:
        began = time.perf_counter()
        access.start(services, org, "MartinW", device.device_id, client.origin, "192.0.2.1")
        return time.perf_counter() - began

    known: list[float] = []
    unknown: list[float] = []
    for _ in range(SAMPLES):  # interleaved, so that load from elsewhere on the machine hits both alike
        known.append(timed("PWinkler"))
        unknown.append(timed("Unbekannt"))
    k1, known_median, k3 = _quartiles(known)
    u1, unknown_median, u3 = _quartiles(unknown)
    spread = max(k3 - k1, u3 - u1)
    assert abs(known_median - unknown_median) < spread, (
        f"known {known_median * 1e3:.3f} ms, unknown {unknown_median * 1e3:.3f} ms, spread {spread * 1e3:.3f} ms")
