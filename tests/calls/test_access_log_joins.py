"""Codes used to join a call go into the practice's access log (issue 14), readable by its admins only."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from interfaces.client import access_log
from interfaces.client.sdk import Client
from tests.calls.support import GrantBook
from tests.calls.test_signalling import admitted_pair
from tests.conftest import PASSWORD, LiveServer
from tests.devices.helpers import ADMIN, ORG


async def test_codes_used_to_join_a_call_are_in_the_log(
        server: LiveServer, grants: GrantBook, practice: Callable[..., uuid.UUID],
        new_client: Callable[[str], Client]) -> None:
    appointment, doctor, patient = await admitted_pair(server, grants, practice())
    await patient.close()
    await doctor.close()
    admin = new_client("praxis")  # the same device storage as the practice's registration
    admin.login(ORG, ADMIN, PASSWORD)
    joins = [e for e in access_log.read(admin) if e["kind"] == "call-join"]
    assert sorted(e["seat"] for e in joins) == ["patient", "practitioner"]
    assert {e["appointment"] for e in joins} == {str(appointment.appointment_id)}
    assert "Sprechstunde betreten (Code)" in access_log.line(joins[0])
