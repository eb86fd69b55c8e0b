"""A conference with real media (issue 6, design/crypto.md §4.10a): a plus practice plans an appointment with
two participants through the SDK; practitioner and both participants join with their own codes and derive
k_call from the shared call code, and video flows pairwise over a mesh of direct peer-to-peer links. A party
that keys its MACs with its own code instead is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from interfaces.client import appointments
from interfaces.client.call import MSG_REMOTE_TAMPERED, MSG_TAMPERED, Call, SignallingTampered
from interfaces.client.sdk import Client
from tests.calls.conftest import PLUS_BILLING
from tests.calls.support import with_consent
from tests.conftest import PASSWORD, LiveServer, register

pytestmark = pytest.mark.slow


def plan_conference(new_client: Callable[[str], Client], participants: int) -> tuple[appointments.Appointment, str]:
    """A plus practice plans a conference; also the admin's session, which the practitioner presents."""
    client = new_client("praxis")
    register(client, plan="plus", billing=PLUS_BILLING)
    session = client.login("PWinkler", "MartinW", PASSWORD).token
    planned = appointments.add(client, datetime.now(UTC) - timedelta(minutes=5), 60, "Jörg Böhm",
                               participants=participants)
    with_consent(client, planned)
    return planned, session


async def test_three_parties_share_the_call_code_and_media_flows_pairwise(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    planned, session = plan_conference(new_client, participants=2)
    codes, call_code = planned.patient.codes, planned.patient.call_code
    assert call_code is not None
    doctor = Call(server.url, codes["practitioner"], call_code, session_token=session)
    first = Call(server.url, codes["patient"], call_code)
    second = Call(server.url, codes["patient-2"], call_code)
    calls = (doctor, first, second)
    try:
        for call in calls:
            await call.start()
        await asyncio.gather(*[call.wait_frames(5, peers=2, timeout=40) for call in calls])
        ids = {call: call.welcome["peer_id"] for call in calls}
        for call in calls:  # a full mesh: each party holds a direct link to each other party, with frames
            others = {ids[other] for other in calls if other is not call}
            assert set(call.links) == others
            assert all(frames >= 5 for frames in call.frames_received().values())
            assert all(call.path(peer) == "direct" for peer in others)
            assert call.error is None
    finally:
        for call in calls:
            await call.close()


async def test_a_party_without_the_call_code_is_refused(server: LiveServer,
                                                        new_client: Callable[[str], Client]) -> None:
    planned, session = plan_conference(new_client, participants=2)
    codes = planned.patient.codes
    doctor = Call(server.url, codes["practitioner"], planned.patient.call_code, session_token=session)
    guest = Call(server.url, codes["patient-2"])  # k_call from its own code: its MACs cannot match
    try:
        await doctor.start()
        await guest.start()
        with pytest.raises(SignallingTampered) as refused:
            await guest.wait_connected(timeout=20)
        assert str(refused.value) in (MSG_TAMPERED, MSG_REMOTE_TAMPERED)
        assert not any(link.connected_at for link in doctor.links.values())
    finally:
        await guest.close()
        await doctor.close()
