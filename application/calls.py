"""Sprechstunde: rooms, waiting room, admission and the limits of a call — the rules, free of any transport.

A room is one appointment. Whoever presents a valid join token becomes a member: the practitioner is admitted
at once, a patient waits in the waiting room until an admitted practitioner lets them in (or sends them back).
The server only relays signalling (SDP, ICE) between admitted members of the same room; media flows directly
between the parties. Every rule here works on a `Room` snapshot that the `SignallingHub` loads and stores
under a per-room lock, so the same rules hold in one process (memory hub) and across workers (PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from domain.plans import Feature, feature_refused_message, get_plan, participants_allowed, plan_allows

T = TypeVar("T")

PRACTITIONER, PATIENT = "practitioner", "patient"
WAITING, ADMITTED = "waiting", "admitted"
MAX_MESSAGE_BYTES = 64 * 1024  # a browser screen-share renegotiation is ~10 KB; this leaves ample room
RELAYED_TYPES = frozenset({"offer", "answer", "candidate", "renegotiate", "bye"})
RELAYED_FIELDS = ("sdp", "mac", "candidate", "reason", "ice_restart")
CONTROL_TYPES = frozenset({"ping", "admit", "send-back", "leave"})

# WebSocket close codes (application range 4000–4999), each with the German reason the client shows.
CLOSE_BAD_MESSAGE = 4400
CLOSE_AUTH = 4401
CLOSE_NO_ACCESS = 4403
CLOSE_TIMEOUT = 4408
CLOSE_ROOM_FULL = 4409
CLOSE_RESUME_EXPIRED = 4410
CLOSE_TOO_LARGE = 4413
CLOSE_UNAVAILABLE = 4503  # the signalling store is away for a moment: the client tries again with back-off

MSG_NO_ACCESS = "Der Zugangscode ist ungültig oder abgelaufen."
MSG_STAFF = "Mitarbeiterkonten können keine Sprechstunde leiten."
MSG_WRONG_PRACTICE = "Diese Anmeldung gehört nicht zur Praxis dieses Termins."
MSG_ROOM_FULL = "Der Raum ist voll: Ihr Tarif erlaubt höchstens {n} Teilnehmende."
MSG_CODE_IN_USE = "Dieser Zugangscode wird bereits verwendet."
MSG_LEADER_SESSION = ("Die Sprechstunde leitet ein angemeldeter Behandler der Praxis: bitte mit dem Behandlercode "
                      "die eigene Anmeldung vorlegen.")
MSG_UNAVAILABLE = "Die Signalisierung ist kurz nicht erreichbar. Bitte gleich erneut versuchen."
MSG_RESUME_EXPIRED = "Die Verbindung konnte nicht fortgesetzt werden. Bitte erneut beitreten."
MSG_TOO_LARGE = "Die Nachricht ist zu groß (höchstens 64 KiB)."
MSG_BAD_MESSAGE = "Die Nachricht ist ungültig."
MSG_TIMEOUT = "Die Verbindung antwortet nicht mehr."
MSG_NOT_IN_ROOM = "Der Empfänger ist nicht in diesem Raum."
MSG_NOT_ADMITTED = "Sie sind noch im Wartezimmer."
MSG_ONLY_PRACTITIONER = "Nur die Praxis kann Personen einlassen oder zurückschicken."
MSG_SENT_BACK = "Die Praxis hat Sie ins Wartezimmer zurückgeschickt."


class HubUnavailable(Exception):
    """The hub's store cannot be reached right now (a database restart, a network blip); nothing was changed."""


class Refused(Exception):
    """A join or action that the rules do not allow; `code` is the WebSocket close code."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Member:
    peer_id: str
    role: str
    state: str
    since: float  # entered the waiting room, or was admitted
    resume_hash: str  # h(resume token): the token itself is only known to the client
    conn_id: str  # the current WebSocket; a stale socket must not disconnect its successor
    connected: bool = True
    gone_at: float | None = None  # end of the grace period after a dropped connection
    worker: str = ""  # which server process holds the socket (diagnostics, stale-row clean-up)
    slot: str = ""  # the code's seat ("practitioner", "patient", "patient-2", …): one member per code


@dataclass
class Room:
    room_id: str  # the appointment id
    org_id: str
    members: dict[str, Member] = field(default_factory=dict)

    def admitted(self, exclude: str | None = None) -> list[Member]:
        return [m for m in self.members.values() if m.state == ADMITTED and m.peer_id != exclude]

    def practitioners(self) -> list[Member]:
        return [m for m in self.members.values() if m.role == PRACTITIONER and m.state == ADMITTED]


@dataclass
class Outbound:
    """A message the rules decided to send, with its exact recipients (peer ids of this room)."""

    recipients: list[str]
    message: dict[str, Any]


@dataclass
class Decision:
    member: Member | None = None
    outbound: list[Outbound] = field(default_factory=list)
    replaced: Member | None = None  # a dropped holder of the same seat, gone because its code joined afresh


class SignallingHub(Protocol):
    """Rooms under a per-room lock plus fan-out to whichever process holds a recipient's socket."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def transact(self, room_id: str, org_id: str, rule: Callable[[Room], T]) -> T: ...
    async def snapshot(self, room_id: str) -> Room | None: ...
    # `room`: the snapshot the outbound was computed from; with it, a hub may hand recipients whose socket it
    # holds itself their message directly (it names the worker each member is connected to).
    async def publish(self, room_id: str, outbound: list[Outbound], room: Room | None = None) -> None: ...
    def health(self) -> str: ...  # "ok", or "degraded" while its store or fan-out is unreachable
    def attach(self, room_id: str, peer_id: str, deliver: Callable[[dict[str, Any]], None]) -> None: ...
    def detach(self, room_id: str, peer_id: str, deliver: Callable[[dict[str, Any]], None]) -> None: ...


# --- views --------------------------------------------------------------------------------------------


def peer_view(member: Member) -> dict[str, Any]:
    return {"peer_id": member.peer_id, "role": member.role, "connected": member.connected}


def waiting_list(room: Room) -> list[dict[str, Any]]:
    """What the practitioner sees: who waits and since when (seconds since the epoch), oldest first."""
    waiting = sorted((m for m in room.members.values() if m.state == WAITING), key=lambda m: m.since)
    return [{"peer_id": m.peer_id, "since": m.since, "connected": m.connected} for m in waiting]


def _waiting_update(room: Room) -> Outbound:
    return Outbound([m.peer_id for m in room.practitioners()], {"type": "waiting-room", "waiting": waiting_list(room)})


def welcome(room: Room, member: Member, plan: str, resume_token: str | None, *, starts_at: datetime,
            ends_at: datetime) -> dict[str, Any]:
    """The first answer. It carries the appointment's time, so a patient who is early sees in the waiting room
    when the consultation begins (§8a.5)."""
    message: dict[str, Any] = {
        "type": "welcome", "peer_id": member.peer_id, "role": member.role, "state": member.state,
        "since": member.since, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
        "appointment_id": room.room_id, "max_participants": get_plan(plan).max_participants,
        "conference": plan_allows(plan, Feature.CONFERENCE),
        "screen_sharing": plan_allows(plan, Feature.SCREEN_SHARING),
        "peers": [peer_view(m) for m in room.admitted(member.peer_id)] if member.state == ADMITTED else [],
    }
    if resume_token is not None:
        message["resume_token"] = resume_token
    if member.role == PRACTITIONER:
        message["waiting"] = waiting_list(room)
    return message


def sync_view(room: Room, member: Member) -> dict[str, Any]:
    """A member's current place, for when the messages that would have told it may have been lost (the hub's
    fan-out was away): its state, the admitted peers it may signal with, and for the practice the waiting room.
    A client applies it like the messages it replaces (admitted, sent-back, waiting-room)."""
    message: dict[str, Any] = {
        "type": "sync", "peer_id": member.peer_id, "state": member.state,
        "peers": [peer_view(m) for m in room.admitted(member.peer_id)] if member.state == ADMITTED else [],
    }
    if member.role == PRACTITIONER:
        message["waiting"] = waiting_list(room)
    return message


# --- membership ---------------------------------------------------------------------------------------


def purge_expired(room: Room, now: float) -> list[Outbound]:
    """Members whose grace period ran out are gone (a crashed worker cannot report them itself)."""
    gone = [m for m in room.members.values() if not m.connected and m.gone_at is not None and m.gone_at <= now]
    outbound: list[Outbound] = []
    for member in gone:
        del room.members[member.peer_id]
        outbound.extend(_departure(room, member, "gone"))
    return outbound


def _departure(room: Room, member: Member, reason: str) -> list[Outbound]:
    out = []
    if member.state == ADMITTED:
        out.append(Outbound([m.peer_id for m in room.admitted()],
                            {"type": "peer-left", "peer_id": member.peer_id, "role": member.role, "reason": reason}))
    if member.state == WAITING or member.role == PRACTITIONER:
        out.append(_waiting_update(room))
    return [o for o in out if o.recipients]


def join(room: Room, *, role: str, slot: str, seats: int, plan: str, peer_id: str, resume_hash: str, conn_id: str,
         worker: str, now: float) -> Decision:
    """A new member in the seat of its code (§8a.6). A code can be in its room once: while its holder is
    connected, a second join with it (a forwarded invitation) is refused; a holder that dropped and comes back
    without its resume token (a reloaded page) takes its own seat over. A room has as many seats as the
    appointment has codes, never more than the plan allows (domain.plans), and patients may hold at most all
    seats but one, so a downgraded plan cannot lock the practitioner out."""
    decision = Decision(outbound=purge_expired(room, now))
    holder = next((m for m in room.members.values() if m.slot == slot), None)
    if holder is not None and holder.connected:
        raise Refused(CLOSE_ROOM_FULL, MSG_CODE_IN_USE)
    present = len(room.members) - (holder is not None)
    patients = sum(1 for m in room.members.values() if m.role == PATIENT and m is not holder)
    limit = get_plan(plan).max_participants
    if present + 1 > seats or not participants_allowed(plan, present + 1) or (
            role == PATIENT and not participants_allowed(plan, patients + 2)):
        raise Refused(CLOSE_ROOM_FULL, MSG_ROOM_FULL.format(n=limit))
    if holder is not None:
        del room.members[holder.peer_id]
        decision.outbound.extend(_departure(room, holder, "gone"))
        decision.replaced = holder
    state = ADMITTED if role == PRACTITIONER else WAITING
    member = Member(peer_id, role, state, now, resume_hash, conn_id, worker=worker, slot=slot)
    room.members[peer_id] = member
    decision.member = member
    if state == ADMITTED:
        others = [m.peer_id for m in room.admitted(peer_id)]
        if others:
            decision.outbound.append(Outbound(others, {"type": "peer-joined", **peer_view(member)}))
    else:
        decision.outbound.append(_waiting_update(room))
    return decision


def resume(room: Room, *, peer_id: str, resume_hash: str, conn_id: str, worker: str, now: float) -> Decision:
    """A dropped socket comes back within the grace period: same peer id, same state, same waiting place."""
    decision = Decision(outbound=purge_expired(room, now))
    member = room.members.get(peer_id)
    if member is None or member.resume_hash != resume_hash:
        raise Refused(CLOSE_RESUME_EXPIRED, MSG_RESUME_EXPIRED)
    member.connected, member.gone_at, member.conn_id, member.worker = True, None, conn_id, worker
    decision.member = member
    if member.state == ADMITTED:
        decision.outbound.append(Outbound([m.peer_id for m in room.admitted(peer_id)],
                                          {"type": "peer-reconnected", **peer_view(member)}))
    else:
        decision.outbound.append(_waiting_update(room))
    decision.outbound = [o for o in decision.outbound if o.recipients]
    return decision


def disconnect(room: Room, *, peer_id: str, conn_id: str, now: float, grace: float) -> Decision:
    """The socket dropped without a goodbye: keep the place for `grace` seconds."""
    member = room.members.get(peer_id)
    if member is None or member.conn_id != conn_id or not member.connected:
        return Decision()
    member.connected, member.gone_at = False, now + grace
    decision = Decision(member=member)
    if member.state == ADMITTED:
        decision.outbound.append(Outbound([m.peer_id for m in room.admitted(peer_id)],
                                          {"type": "peer-disconnected", **peer_view(member)}))
    else:
        decision.outbound.append(_waiting_update(room))
    decision.outbound = [o for o in decision.outbound if o.recipients]
    return decision


def expire(room: Room, *, peer_id: str, conn_id: str, now: float) -> Decision:
    """After the grace period: a peer that did not come back is reported as gone."""
    member = room.members.get(peer_id)
    if member is None or member.connected or member.conn_id != conn_id or (member.gone_at or 0) > now:
        return Decision()
    return Decision(outbound=purge_expired(room, now))


def leave(room: Room, *, peer_id: str, conn_id: str) -> Decision:
    """A deliberate goodbye frees the place at once."""
    member = room.members.get(peer_id)
    if member is None or member.conn_id != conn_id:
        return Decision()
    del room.members[peer_id]
    return Decision(member=member, outbound=_departure(room, member, "left"))


def _require_practitioner(room: Room, actor_id: str) -> None:
    actor = room.members.get(actor_id)
    if actor is None or actor.role != PRACTITIONER or actor.state != ADMITTED:
        raise Refused(0, MSG_ONLY_PRACTITIONER)


def admit(room: Room, *, actor_id: str, patient_id: str, now: float) -> Decision:
    _require_practitioner(room, actor_id)
    patient = room.members.get(patient_id)
    if patient is None or patient.state != WAITING:
        raise Refused(0, MSG_NOT_IN_ROOM)
    patient.state, patient.since = ADMITTED, now
    return Decision(member=patient, outbound=[
        Outbound([patient_id], {"type": "admitted", "peers": [peer_view(m) for m in room.admitted(patient_id)]}),
        Outbound([m.peer_id for m in room.admitted(patient_id)], {"type": "peer-joined", **peer_view(patient)}),
        _waiting_update(room),
    ])


def send_back(room: Room, *, actor_id: str, patient_id: str, now: float) -> Decision:
    """Back into the waiting room (keeps the code valid; the patient can be admitted again)."""
    _require_practitioner(room, actor_id)
    patient = room.members.get(patient_id)
    if patient is None or patient.role != PATIENT:
        raise Refused(0, MSG_NOT_IN_ROOM)
    was_admitted = patient.state == ADMITTED
    patient.state, patient.since = WAITING, now
    outbound = [Outbound([patient_id], {"type": "sent-back", "reason": MSG_SENT_BACK})]
    if was_admitted:
        outbound.append(Outbound([m.peer_id for m in room.admitted()],
                                 {"type": "peer-left", "peer_id": patient_id, "role": PATIENT, "reason": "sent-back"}))
    outbound.append(_waiting_update(room))
    return Decision(member=patient, outbound=outbound)


# --- relaying -----------------------------------------------------------------------------------------


_VIDEO_SECTION = re.compile(r"^m=video (\d+) ", re.MULTILINE)


def video_sections(sdp: str) -> int:
    """Active video m-lines (port 0 marks a rejected or stopped section)."""
    return sum(1 for port in _VIDEO_SECTION.findall(sdp) if port != "0")


def screen_share_refusal(plan: str, message: dict[str, Any]) -> str | None:
    """A description with a second video track is a screen share (camera + screen): plus only."""
    sdp = message.get("sdp")
    # str.count first: it spares the common case, one camera, the regular expression on every description.
    if message.get("type") in {"offer", "answer", "renegotiate"} and isinstance(sdp, str) and \
            sdp.count("m=video ") > 1 and video_sections(sdp) > 1 and not plan_allows(plan, Feature.SCREEN_SHARING):
        return feature_refused_message(Feature.SCREEN_SHARING)
    return None


def relay(room: Room, *, sender_id: str, message: dict[str, Any]) -> Outbound:
    """Who receives a signalling message: admitted members of this room only, never the sender, and — with
    `to` — exactly that one peer. The sender is stamped here; whatever `from` the client wrote is ignored."""
    sender = room.members.get(sender_id)
    if sender is None or sender.state != ADMITTED:
        raise Refused(0, MSG_NOT_ADMITTED)
    to = message.get("to")
    admitted = [m.peer_id for m in room.admitted(sender_id)]
    if to is not None:
        if not isinstance(to, str) or to not in admitted:
            raise Refused(0, MSG_NOT_IN_ROOM)
        recipients = [to]
    else:
        recipients = admitted
    stamped: dict[str, Any] = {"type": message["type"], "from": sender_id, "role": sender.role}
    if to is not None:
        stamped["to"] = to
    for key in RELAYED_FIELDS:
        if key in message:
            stamped[key] = message[key]
    return Outbound(recipients, stamped)
