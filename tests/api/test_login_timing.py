"""No oracle for organisation or user names (issue 10.4): auth/start costs the same for a known organisation
and user as for unknown ones, because all are answered by one read-model query instead of a replay of the
organisation's events, and an unknown name is worked through on a decoy row. The precise figure is in
bench/foundation.py ("login start, known vs unknown organisation")."""

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

    def timed(org: str, user: str) -> float:
        began = time.perf_counter()
        access.start(services, org, user, device.device_id, client.origin, "192.0.2.1")
        return time.perf_counter() - began

    known: list[float] = []
    unknown_org: list[float] = []
    unknown_user: list[float] = []
    for _ in range(SAMPLES):  # interleaved, so that load from elsewhere on the machine hits all alike
        known.append(timed("PWinkler", "MartinW"))
        unknown_org.append(timed("Unbekannt", "MartinW"))
        unknown_user.append(timed("PWinkler", "Niemand"))
    k1, known_median, k3 = _quartiles(known)
    for name, unknown in (("organisation", unknown_org), ("user", unknown_user)):
        u1, unknown_median, u3 = _quartiles(unknown)
        spread = max(k3 - k1, u3 - u1)
        assert abs(known_median - unknown_median) < spread, (
            f"known {known_median * 1e3:.3f} ms, unknown {name} {unknown_median * 1e3:.3f} ms, "
            f"spread {spread * 1e3:.3f} ms")
