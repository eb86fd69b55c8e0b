"""Login failures look alike, cost alike and are throttled without letting strangers lock anyone out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from interfaces.client.keystore import DeviceRecord
from interfaces.client.sdk import ApiError, Client
from sprechzimmer_protocol import layouts
from sprechzimmer_protocol.keys import DeviceKeys, password_keys
from sprechzimmer_protocol.primitives import random_bytes, sign
from tests.conftest import PASSWORD, Clock, LiveServer, register


def raw_login(client: Client, org: str, user: str, password: str, device: DeviceRecord) -> httpx.Response:
    """The SDK's protocol, but returning the raw HTTP answer of /auth/finish."""
    start = client.http.post("/api/v1/auth/start", json={"org": org, "user": user, "device_id": device.device_id,
                                                         "origin": client.origin}).json()
    keys = DeviceKeys.from_seed(bytes.fromhex(device.seed))
    pw = password_keys(password, bytes.fromhex(start["salt"]), start["kdf"]["ops"], start["kdf"]["mem"])
    transcript = layouts.login(org, user, device.device_id, bytes.fromhex(start["nonce"]), client.origin)
    return client.http.post("/api/v1/auth/finish", json={
        "challenge_id": start["challenge_id"], "sig_pw": sign(pw.signing, transcript).hex(),
        "sig_dev": sign(keys.signing, transcript).hex()})


def stranger_device(origin: str) -> DeviceRecord:
    """A device the organisation never approved: its own keys, a made-up id."""
    return DeviceRecord(origin, "pwinkler", "", "dev-unknown", "Fremdgerät", random_bytes(32).hex(), None)


@pytest.fixture
def martin(server: LiveServer, new_client: Callable[[str], Client]) -> tuple[Client, DeviceRecord]:
    client = new_client("laptop-martin")
    register(client)
    device = client.store.device(client.origin, "pwinkler")
    assert device is not None
    return client, device


def test_every_failure_gets_the_same_answer(martin: tuple[Client, DeviceRecord]) -> None:
    client, device = martin
    answers = [
        raw_login(client, "Unbekannt", "MartinW", PASSWORD, device),  # wrong organisation
        raw_login(client, "PWinkler", "Niemand", PASSWORD, device),  # wrong user
        raw_login(client, "PWinkler", "MartinW", PASSWORD + "x", device),  # wrong password
        raw_login(client, "PWinkler", "MartinW", PASSWORD, stranger_device(client.origin)),  # unapproved device
    ]
    assert [a.status_code for a in answers] == [401] * 4
    assert len({a.content for a in answers}) == 1
    assert {a.headers["content-type"] for a in answers} == {"application/problem+json"}
    assert "Anmeldung fehlgeschlagen" in answers[0].json()["detail"]
    assert raw_login(client, "PWinkler", "MartinW", PASSWORD, device).status_code == 200


def test_unknown_accounts_get_stable_fake_salts(martin: tuple[Client, DeviceRecord]) -> None:
    client, device = martin
    body = {"org": "Unbekannt", "user": "Niemand", "device_id": device.device_id, "origin": client.origin}
    first, second = (client.http.post("/api/v1/auth/start", json=body).json() for _ in range(2))
    assert first["salt"] == second["salt"] and len(bytes.fromhex(first["salt"])) == 16
    real = client.http.post("/api/v1/auth/start", json={**body, "org": "PWinkler", "user": "MartinW"}).json()
    assert set(real) == set(first) and real["kdf"] == first["kdf"]  # nothing tells real from fake


def test_a_challenge_is_single_use(martin: tuple[Client, DeviceRecord]) -> None:
    client, device = martin
    start = client.http.post("/api/v1/auth/start", json={"org": "PWinkler", "user": "MartinW",
                                                         "device_id": device.device_id, "origin": client.origin}).json()
    keys = DeviceKeys.from_seed(bytes.fromhex(device.seed))
    pw = password_keys(PASSWORD, bytes.fromhex(start["salt"]))
    transcript = layouts.login("PWinkler", "MartinW", device.device_id, bytes.fromhex(start["nonce"]),
                                    client.origin)
    body = {"challenge_id": start["challenge_id"], "sig_pw": sign(pw.signing, transcript).hex(),
            "sig_dev": sign(keys.signing, transcript).hex()}
    assert client.http.post("/api/v1/auth/finish", json=body).status_code == 200
    assert client.http.post("/api/v1/auth/finish", json=body).status_code == 401  # a captured answer is useless


def test_challenges_expire_after_two_minutes(martin: tuple[Client, DeviceRecord], clock: Clock) -> None:
    client, device = martin
    clock.set(clock())
    start = client.http.post("/api/v1/auth/start", json={"org": "PWinkler", "user": "MartinW",
                                                         "device_id": device.device_id, "origin": client.origin}).json()
    clock.advance(seconds=121)
    keys = DeviceKeys.from_seed(bytes.fromhex(device.seed))
    pw = password_keys(PASSWORD, bytes.fromhex(start["salt"]))
    transcript = layouts.login("PWinkler", "MartinW", device.device_id, bytes.fromhex(start["nonce"]),
                                    client.origin)
    answer = client.http.post("/api/v1/auth/finish", json={
        "challenge_id": start["challenge_id"], "sig_pw": sign(pw.signing, transcript).hex(),
        "sig_dev": sign(keys.signing, transcript).hex()})
    assert answer.status_code == 401


def test_failures_from_one_network_are_throttled(martin: tuple[Client, DeviceRecord]) -> None:
    client, _ = martin
    stranger = stranger_device(client.origin)
    statuses = [raw_login(client, "PWinkler", "MartinW", "falsch-geraten", stranger).status_code for _ in range(20)]
    assert statuses == [401] * 20
    blocked = client.http.post("/api/v1/auth/start", json={"org": "PWinkler", "user": "MartinW",
                                                           "device_id": "x", "origin": client.origin})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 600


def test_approved_device_failures_back_off_but_strangers_cannot_lock_out(
        martin: tuple[Client, DeviceRecord], clock: Clock) -> None:
    client, device = martin
    clock.set(clock())
    stranger = stranger_device(client.origin)
    for _ in range(8):  # a stranger's failures never count towards the account
        assert raw_login(client, "PWinkler", "MartinW", "falsch-geraten", stranger).status_code == 401
    clock.advance(minutes=11)  # past the per-network window
    for _ in range(5):  # an approved device with wrong passwords does count
        assert raw_login(client, "PWinkler", "MartinW", "falsch-geraten", device).status_code == 401
    throttled = raw_login(client, "PWinkler", "MartinW", PASSWORD, device)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    clock.advance(seconds=2)  # 2^(5-5)… the back-off has passed
    assert raw_login(client, "PWinkler", "MartinW", PASSWORD, device).status_code == 200


def test_sessions_end_after_idle_time_and_logout(martin: tuple[Client, DeviceRecord], clock: Clock) -> None:
    client, _ = martin
    clock.set(clock())
    client.login("PWinkler", "MartinW", PASSWORD)
    clock.advance(minutes=29)
    assert client.whoami()["user_short"] == "MartinW"  # use keeps it alive
    clock.advance(minutes=31)
    with pytest.raises(ApiError) as err:
        client.whoami()
    assert err.value.status == 401
    client.login("PWinkler", "MartinW", PASSWORD)
    logged_in_at, refused_at = clock.now, None
    for _ in range(30):  # used every 29 minutes, still ended by the 12-hour absolute limit
        clock.advance(minutes=29)
        try:
            client.whoami()
        except ApiError:
            refused_at = clock.now
            break
    assert refused_at is not None
    assert timedelta(hours=12) < refused_at - logged_in_at <= timedelta(hours=12, minutes=29)


def test_a_session_token_is_bound_to_its_session_only(martin: tuple[Client, DeviceRecord]) -> None:
    client, _ = martin
    client.login("PWinkler", "MartinW", PASSWORD)
    forged = client.http.get("/api/v1/session", headers={"Authorization": "Bearer " + "00" * 32})
    assert forged.status_code == 401
