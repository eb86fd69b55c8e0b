"""The practice's access log (issue 14): a login from a second device shows up for the practice's admins, sealed
so that only the practice reads it; another practice sees none of it; after three months it is gone."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from interfaces.client import access_log
from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, Clock, LiveServer, register
from tests.devices.helpers import ADMIN, ORG, admin_client, approved_device


def test_a_login_from_a_second_device_is_in_the_practices_log_only(
        server: LiveServer, new_client: Callable[[str], Client], clock: Clock) -> None:
    admin = admin_client(new_client)
    approved_device(admin, new_client, "Empfang-PC")
    entries = access_log.read(admin)
    logins = [e for e in entries if e["kind"] == "login"]
    assert {e["device"] for e in logins} == {"Laptop Martin", "Empfang-PC"}
    assert all(e["user"] == ADMIN and e["ip"] == "127.0.0.0/24" for e in logins)
    kinds = [(e["kind"], e.get("device")) for e in entries]
    assert ("device-request", "Empfang-PC") in kinds and ("device-approval", "Empfang-PC") in kinds
    assert "Anmeldung  Benutzer: MartinW  Gerät: Empfang-PC  Netz: 127.0.0.0/24" in \
        "\n".join(access_log.line(e) for e in entries)

    # what the server keeps is sealed: no user, device or address in the clear
    with server.container.state_db.transaction() as cur:
        stored = " ".join(row[0] for row in cur.execute("SELECT sealed FROM access_log").fetchall())
    assert "Empfang" not in bytes.fromhex(stored.replace(" ", "")).decode("latin-1")

    other = new_client("other-practice")
    register(other, credentials__org_short="PNachbar")
    other.login("PNachbar", ADMIN, PASSWORD)
    theirs = access_log.read(other)
    assert [e["device"] for e in theirs] and "Empfang-PC" not in [e["device"] for e in theirs]
    anonymous = httpx.get(server.url + "/api/v1/access-log")
    assert anonymous.status_code == 401

    clock.advance(days=93)
    assert server.container.scheduler.run_all_once()["retention"] > 0
    admin.login(ORG, ADMIN, PASSWORD)  # the session has expired meanwhile; this login is logged anew
    assert [e["device"] for e in access_log.read(admin)] == ["Laptop Martin"]

