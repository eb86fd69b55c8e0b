"""Test support for calls: a join resolver backed by real codes (test-made grants first, then the appointments
context's own resolver, so appointments planned through the SDK join too), and a small JSON WebSocket client
for signalling-level tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets

from application.ports import JoinGrant, JoinResolver
from domain.appointment import CODE_SLOTS
from interfaces.client.sdk import CODE_SECRETS
from sprechzimmer_protocol.codes import new_code


@dataclass
class Appointment:
    org_id: uuid.UUID
    appointment_id: uuid.UUID
    practitioner_code: str
    patient_codes: list[str]
    session: str | None = None  # the practice admin's session: the practitioner code admits only with it

    @property
    def patient_code(self) -> str:
        return self.patient_codes[0]


class GrantBook:
    """join token → JoinGrant for signalling-level tests that need grants the appointments context would not
    hand out on demand (expired windows, revoked codes, several patients); codes from new_code, tokens from
    the SDK's code secrets (one Argon2id run per code). Anything else goes to the server's real resolver, so
    appointments planned through the SDK join too."""

    def __init__(self) -> None:
        self.grants: dict[bytes, JoinGrant] = {}
        self.fallback: JoinResolver | None = None  # the server's real resolver (appointments planned via SDK)
        self.sessions: dict[uuid.UUID, str] = {}  # org id → a logged-in admin's session (the `practice` fixture)

    def __call__(self, join_token: bytes) -> JoinGrant | None:
        grant = self.grants.get(join_token)
        if grant is None and self.fallback is not None:
            return self.fallback(join_token)
        return grant

    def add(self, org_id: uuid.UUID, patients: int = 1, starts: timedelta = timedelta(minutes=-5),
            length: timedelta = timedelta(hours=1), consented: bool = True) -> Appointment:
        """`consented`: the patient's Einwilligung is on record (the default: most tests are about the call)."""
        appointment_id = uuid.uuid4()
        start = datetime.now(UTC) + starts
        appointment = Appointment(org_id, appointment_id, new_code(),
                                  [new_code() for _ in range(patients)], self.sessions.get(org_id))
        slots = [(appointment.practitioner_code, "practitioner", "practitioner"),
                 *[(code, "patient", CODE_SLOTS[1 + i]) for i, code in enumerate(appointment.patient_codes)]]
        for code, role, slot in slots:
            self.grants[CODE_SECRETS.join_token(code)] = JoinGrant(org_id, appointment_id, role, start, start + length,
                                                                   slot=slot, seats=len(slots),
                                                                   consented=consented)
        return appointment

    def revoke(self, code: str) -> None:
        self.grants.pop(CODE_SECRETS.join_token(code), None)


def with_consent(client: Any, planned: Any) -> Any:
    """Records the patient's Einwilligung for an appointment planned through the SDK: without it no patient
    enters the waiting room (issue 15, item 5)."""
    from interfaces.client import appointments

    return appointments.record_consent(client, planned.appointment_id, "mündlich")


def token_hex(code: str) -> str:
    return CODE_SECRETS.join_token(code).hex()


class Peer:
    """A signalling participant speaking JSON over a real WebSocket."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.welcome: dict[str, Any] = {}

    @classmethod
    async def lead(cls, url: str, appointment: Appointment, **extra: Any) -> Peer:
        """The practitioner joins: its code together with the practice admin's session (§8a.7)."""
        return await cls.join(url, appointment.practitioner_code, session=appointment.session, **extra)

    @classmethod
    async def join(cls, url: str, code: str, **extra: Any) -> Peer:
        ws = await websockets.connect(url.replace("http", "ws", 1) + "/ws/v1/calls", max_size=2**20)
        peer = cls(ws)
        # Argon2id (§8a.4) off the event loop, so peers already in the room keep answering heartbeats.
        token = await asyncio.to_thread(token_hex, code)
        await peer.send({"type": "join", "token": token, **extra})
        peer.welcome = await peer.expect("welcome")
        return peer

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        return message

    async def expect(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of this type; others in between (pongs, presence updates) are skipped."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await self.recv(max(remaining, 0.01))
            if message["type"] == kind:
                return message
            if message["type"] == "error" and kind != "error":
                raise AssertionError(f"error while waiting for {kind}: {message}")

    async def quiet(self, kind: str, seconds: float = 0.5) -> bool:
        """True when no message of this type arrives within `seconds`."""
        try:
            await self.expect(kind, seconds)
        except TimeoutError:
            return True
        return False

    @property
    def peer_id(self) -> str:
        return str(self.welcome["peer_id"])

    async def close(self) -> None:
        await self.ws.close()
