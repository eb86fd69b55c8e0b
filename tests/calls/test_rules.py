"""The call rules on their own (application/calls.py): no transport, no storage."""

from __future__ import annotations

import pytest

from application import calls
from application.calls import Refused, Room


def enter(room: Room, peer: str, role: str, plan: str = "basis", now: float = 100.0, slot: str | None = None,
          seats: int = 2) -> calls.Decision:
    return calls.join(room, role=role, slot=slot or role, seats=seats, plan=plan, peer_id=peer,
                      resume_hash="h-" + peer, conn_id="c-" + peer, worker="w", now=now)


def test_one_seat_per_code() -> None:
    room = Room("appointment", "org")
    enter(room, "p1", "patient")
    with pytest.raises(Refused) as taken:
        enter(room, "p2", "patient")  # a forwarded code while its holder is connected
    assert taken.value.code == calls.CLOSE_ROOM_FULL and taken.value.reason == calls.MSG_CODE_IN_USE
    enter(room, "doc", "practitioner")
    with pytest.raises(Refused):
        enter(room, "doc2", "practitioner")
    assert set(room.members) == {"p1", "doc"}
    # the holder dropped: the same code joining afresh (a reloaded page) takes the seat over
    calls.disconnect(room, peer_id="p1", conn_id="c-p1", now=101.0, grace=30.0)
    decision = enter(room, "p3", "patient", now=102.0)
    assert set(room.members) == {"p3", "doc"} and decision.replaced is not None
    assert decision.replaced.peer_id == "p1"


def test_seats_follow_the_appointment_and_never_exceed_the_plan() -> None:
    one_to_one = Room("appointment", "org")
    enter(one_to_one, "doc", "practitioner", "plus")
    enter(one_to_one, "p1", "patient", "plus")
    with pytest.raises(Refused):  # plus allows four, but this appointment invited one patient
        enter(one_to_one, "p2", "patient", "plus", slot="patient-2")
    conference = Room("conference", "org")
    enter(conference, "doc", "practitioner", "plus", seats=4)
    for n, slot in enumerate(("patient", "patient-2", "patient-3")):
        enter(conference, f"p{n}", "patient", "plus", slot=slot, seats=4)
    downgraded = Room("downgraded", "org")  # a conference planned in plus, held after a change to basis
    enter(downgraded, "p0", "patient", "basis", seats=4)
    with pytest.raises(Refused) as full:
        enter(downgraded, "p1", "patient", "basis", slot="patient-2", seats=4)
    assert "höchstens 2" in full.value.reason  # the practitioner's seat stays free
    enter(downgraded, "doc", "practitioner", "basis", seats=4)


def test_relay_reaches_admitted_members_only_and_stamps_the_sender() -> None:
    room = Room("appointment", "org")
    enter(room, "doc", "practitioner", "plus", seats=3)
    enter(room, "p1", "patient", "plus", seats=3)
    enter(room, "p2", "patient", "plus", slot="patient-2", seats=3)
    calls.admit(room, actor_id="doc", patient_id="p1", now=101.0)
    out = calls.relay(room, sender_id="doc", message={"type": "offer", "sdp": "v=0", "from": "p2", "evil": 1})
    assert out.recipients == ["p1"]  # p2 still waits; never the sender
    assert out.message == {"type": "offer", "from": "doc", "role": "practitioner", "sdp": "v=0"}
    with pytest.raises(Refused):
        calls.relay(room, sender_id="doc", message={"type": "offer", "to": "p2"})
    with pytest.raises(Refused):
        calls.relay(room, sender_id="p2", message={"type": "offer"})
    with pytest.raises(Refused):
        calls.admit(room, actor_id="p1", patient_id="p2", now=102.0)  # only the practice admits


def test_grace_period_resume_and_gone() -> None:
    room = Room("appointment", "org")
    enter(room, "doc", "practitioner")
    enter(room, "p1", "patient")
    since = room.members["p1"].since
    calls.disconnect(room, peer_id="p1", conn_id="c-p1", now=110.0, grace=30.0)
    assert calls.expire(room, peer_id="p1", conn_id="c-p1", now=120.0).outbound == []  # still within grace
    with pytest.raises(Refused):
        calls.resume(room, peer_id="p1", resume_hash="wrong", conn_id="c2", worker="w", now=121.0)
    calls.resume(room, peer_id="p1", resume_hash="h-p1", conn_id="c2", worker="w", now=121.0)
    assert room.members["p1"].connected and room.members["p1"].since == since  # same waiting place
    # the old socket's late disconnect must not affect the resumed one
    assert calls.disconnect(room, peer_id="p1", conn_id="c-p1", now=122.0, grace=30.0).member is None
    calls.disconnect(room, peer_id="p1", conn_id="c2", now=130.0, grace=30.0)
    gone = calls.expire(room, peer_id="p1", conn_id="c2", now=161.0)
    assert "p1" not in room.members
    assert gone.outbound[0].recipients == ["doc"] and gone.outbound[0].message["waiting"] == []


def test_screen_share_is_a_second_active_video_section() -> None:
    one = "m=audio 9 x\r\nm=video 9 x\r\n"
    two = one + "m=video 9 x\r\n"
    stopped = one + "m=video 0 x\r\n"
    assert calls.screen_share_refusal("basis", {"type": "renegotiate", "sdp": two}) is not None
    assert calls.screen_share_refusal("basis", {"type": "offer", "sdp": stopped}) is None
    assert calls.screen_share_refusal("basis", {"type": "offer", "sdp": one}) is None
    assert calls.screen_share_refusal("plus", {"type": "renegotiate", "sdp": two}) is None
