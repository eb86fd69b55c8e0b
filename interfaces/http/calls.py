"""Sprechstunde: the signalling WebSocket `/ws/v1/calls`, ICE servers and the call log.

The socket speaks JSON text frames. The first frame is `{"type": "join", "token": <join token hex>}`, with
`"session"` (the practitioner's login: the practitioner code admits only with an admin's session, §8a.7)
and `"resume_token"` + `"peer_id"` to resume a dropped connection. Tokens are never read from the query
string: query strings end up in access logs. The server then relays offer, answer,
candidate, renegotiate and bye between the admitted members of the room; it never sees or forwards media.
The rules live in application/calls.py; this module only moves frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any
from uuid import UUID

import falcon
import falcon.asgi
from apispec import APISpec

from application import call_admission, calls
from application.call_admission import IceConfig
from application.calls import CONTROL_TYPES, MAX_MESSAGE_BYTES, RELAYED_TYPES, Decision, Refused, Room
from application.errors import AuthFailed, DomainError
from application.plans import current_plan
from application.ports import JoinGrant
from interfaces.call_wiring import CallComponents
from interfaces.http.common import Resource, Runtime, client_ip
from interfaces.http.openapi import operation

log = logging.getLogger("sprechzimmer.calls")
UNAVAILABLE = Refused(calls.CLOSE_UNAVAILABLE, calls.MSG_UNAVAILABLE)
HELLO_TIMEOUT = 15.0
QUEUE_LIMIT = 512  # a peer that cannot keep up with this much signalling is too slow to be in a call


class TooLarge(Exception):
    pass


class BadMessage(Exception):
    pass


async def receive(ws: falcon.asgi.WebSocket) -> dict[str, Any]:
    try:
        text = await ws.receive_text()
    except falcon.PayloadTypeError:  # a binary frame: the protocol speaks JSON text only
        raise BadMessage() from None
    # UTF-8 needs at most 4 bytes per character: only a text that could be too large is encoded to count.
    if len(text) * 4 > MAX_MESSAGE_BYTES and len(text.encode()) > MAX_MESSAGE_BYTES:
        raise TooLarge()
    try:
        message = json.loads(text)
    except ValueError:
        raise BadMessage() from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise BadMessage()
    return message


class Connection:
    """One participant's socket: a single writer task drains the queue that the hub fills."""

    def __init__(self, ws: falcon.asgi.WebSocket):
        self.ws = ws
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self.conn_id = secrets.token_hex(8)

    def deliver(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:  # the writer drains the same queue: empty it and leave only the close
            log.warning("signalling queue full; closing the slow socket")
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def pump(self) -> None:
        while True:
            message = await self.queue.get()
            if message is None:
                await self.ws.close(calls.CLOSE_TIMEOUT, calls.MSG_TIMEOUT)
                return
            await self.ws.send_media(message)

    async def refuse(self, refused: Refused) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send_media({"type": "error", "code": refused.code, "detail": refused.reason})
            await self.ws.close(refused.code, refused.reason)


def _resuming(hello: dict[str, Any]) -> bool:
    return isinstance(hello.get("resume_token"), str) and isinstance(hello.get("peer_id"), str)


class CallSocket(Resource):
    def __init__(self, runtime: Runtime):
        super().__init__(runtime)
        self._timers: set[asyncio.Task[None]] = set()

    @property
    def parts(self) -> CallComponents:
        parts = self.runtime.container.calls
        assert parts is not None
        return parts

    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        origin = req.get_header("Origin")
        if origin and origin.rstrip("/") not in self.services.origins:
            # Browsers do not apply CORS to WebSockets: check it here. Closing before accept() answers the
            # handshake with HTTP 403 (raising an HTTPError would meet the problem+json handler, which has
            # no response object for a WebSocket).
            await ws.close()
            return
        hub = self.parts.hub
        await ws.accept()
        conn = Connection(ws)
        try:
            await hub.start()
        except calls.HubUnavailable:
            await conn.refuse(UNAVAILABLE)
            return
        try:
            hello = await asyncio.wait_for(receive(ws), HELLO_TIMEOUT)
            if hello.get("type") != "join":
                raise BadMessage()
        except (TooLarge, BadMessage, TimeoutError):
            await conn.refuse(Refused(calls.CLOSE_BAD_MESSAGE, calls.MSG_BAD_MESSAGE))
            return
        except falcon.WebSocketDisconnected:
            return
        ip = client_ip(req)
        try:
            grant = await self.runtime.call(self._admission, hello.get("token"), hello.get("session"), ip,
                                            _resuming(hello))
            plan = await self.runtime.call(current_plan, self.services, grant.org_id)
        except Refused as refused:
            await conn.refuse(refused)
            return
        except DomainError as error:  # e.g. no contract (NotPermitted): refuse with its German message
            await conn.refuse(Refused(calls.CLOSE_NO_ACCESS, error.message))
            return
        except Exception:  # the database is away (a restart, a dropped connection): the client tries again
            log.warning("call admission failed; the client is asked to try again", exc_info=True)
            await conn.refuse(UNAVAILABLE)
            return
        await self._serve(ws, conn, grant, plan, hello, ip)

    def _admission(self, token: object, session: object, ip: str, resuming: bool) -> JoinGrant:
        grant = call_admission.resolve(self.services, self.parts.join_resolver, token, ip)
        if not resuming:
            # The leader rule holds at the first join. A resume re-enters a seat that was granted with the
            # admin's session and proves it with the seat's resume token (checked in the room); asking for the
            # session again would end a long consultation whose session went idle after 30 minutes.
            call_admission.check_leader(self.services, grant, session)
            call_admission.check_consent(grant)
            call_admission.note_join(self.services, grant, ip)
        return grant

    async def _serve(self, ws: falcon.asgi.WebSocket, conn: Connection, grant: JoinGrant, plan: str,
                     hello: dict[str, Any], ip: str) -> None:
        hub, settings = self.parts.hub, self.runtime.container.settings
        room_id, org_id = str(grant.appointment_id), str(grant.org_id)
        now = self.services.now
        resuming = _resuming(hello)
        if resuming:
            peer_id, resume_token = str(hello["peer_id"]), str(hello["resume_token"])
        else:
            peer_id, resume_token = secrets.token_hex(8), secrets.token_urlsafe(24)
        resume_hash = self.services.crypto.h("vdc/v1/call-resume", resume_token).hex()
        worker = getattr(hub, "worker", "local")

        def enter(room: Room) -> tuple[Decision, dict[str, Any]]:
            if resuming:
                decision = calls.resume(room, peer_id=peer_id, resume_hash=resume_hash, conn_id=conn.conn_id,
                                        worker=worker, now=now())
                member = decision.member
                # a resume token keeps its own seat only, never one of another code
                if member is None or member.role != grant.role or member.slot not in ("", grant.slot):
                    raise Refused(calls.CLOSE_RESUME_EXPIRED, calls.MSG_RESUME_EXPIRED)
            else:
                decision = calls.join(room, role=grant.role, slot=grant.slot, seats=grant.seats, plan=plan,
                                      peer_id=peer_id, resume_hash=resume_hash, conn_id=conn.conn_id, worker=worker,
                                      now=now())
            assert decision.member is not None
            return decision, calls.welcome(room, decision.member, plan, None if resuming else resume_token,
                                           starts_at=grant.starts_at, ends_at=grant.ends_at)

        hub.attach(room_id, peer_id, conn.deliver)
        try:
            decision, hello_back = await hub.transact(room_id, org_id, enter)
        except (Refused, calls.HubUnavailable) as refused:
            hub.detach(room_id, peer_id, conn.deliver)
            await conn.refuse(refused if isinstance(refused, Refused) else UNAVAILABLE)
            return
        assert decision.member is not None
        role = decision.member.role
        hello_back["heartbeat_seconds"] = settings.call_heartbeat_seconds
        hello_back["resumed"] = resuming
        await ws.send_media(hello_back)
        with contextlib.suppress(calls.HubUnavailable):  # the others learn of it from the next room update
            await hub.publish(room_id, decision.outbound)
        if decision.replaced is not None:
            # the old connection's address is not known here (as for members a sweep reports gone)
            await self._log(org_id, room_id, decision.replaced.peer_id, decision.replaced.role, "gone", "")
        await self._log(org_id, room_id, peer_id, role, "resumed" if resuming else "joined", ip)
        pump = asyncio.create_task(conn.pump())
        outcome = "dropped"
        try:
            outcome = await self._relay_loop(ws, conn, room_id, org_id, peer_id, plan, ip,
                                             settings.call_heartbeat_seconds * 3)
        finally:
            hub.detach(room_id, peer_id, conn.deliver)
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
            await self._depart(room_id, org_id, peer_id, role, conn, outcome, ip, settings.call_grace_seconds)

    async def _relay_loop(self, ws: falcon.asgi.WebSocket, conn: Connection, room_id: str, org_id: str,
                          peer_id: str, plan: str, ip: str, timeout: float) -> str:
        hub = self.parts.hub
        while True:
            try:
                # asyncio.timeout, not wait_for: wait_for wraps every single message in a task of its own.
                async with asyncio.timeout(timeout):
                    message = await receive(ws)
            except TimeoutError:  # heartbeats stopped: the peer is dead, not just quiet
                with contextlib.suppress(Exception):
                    await ws.close(calls.CLOSE_TIMEOUT, calls.MSG_TIMEOUT)
                return "dropped"
            except falcon.WebSocketDisconnected:
                return "dropped"
            except TooLarge:
                await conn.refuse(Refused(calls.CLOSE_TOO_LARGE, calls.MSG_TOO_LARGE))
                return "dropped"
            except BadMessage:
                conn.deliver({"type": "error", "code": calls.CLOSE_BAD_MESSAGE, "detail": calls.MSG_BAD_MESSAGE})
                continue
            kind = message["type"]
            try:
                if kind == "ping":
                    conn.deliver({"type": "pong"})
                elif kind == "leave":
                    return "left"
                elif kind in ("admit", "send-back"):
                    await self._admission_step(room_id, org_id, peer_id, kind, message.get("peer"), ip)
                elif kind in RELAYED_TYPES:
                    refusal = calls.screen_share_refusal(plan, message)
                    if refusal is not None:
                        conn.deliver({"type": "refused", "feature": "screen_sharing", "detail": refusal,
                                      "ref": kind})
                        continue
                    room = await hub.snapshot(room_id)
                    if room is None:
                        raise Refused(0, calls.MSG_NOT_IN_ROOM)
                    await hub.publish(room_id, [calls.relay(room, sender_id=peer_id, message=message)], room)
                elif kind not in CONTROL_TYPES:
                    conn.deliver({"type": "error", "code": calls.CLOSE_BAD_MESSAGE, "detail": calls.MSG_BAD_MESSAGE})
            except Refused as refused:  # dropped, never relayed; the sender learns why
                conn.deliver({"type": "dropped", "ref": kind, "detail": refused.reason})
            except calls.HubUnavailable:  # the socket stays: the store is back in a moment
                conn.deliver({"type": "error", "code": calls.CLOSE_UNAVAILABLE, "detail": calls.MSG_UNAVAILABLE,
                              "ref": kind})

    async def _admission_step(self, room_id: str, org_id: str, peer_id: str, kind: str, target: object,
                              ip: str) -> None:
        if not isinstance(target, str):
            raise Refused(0, calls.MSG_NOT_IN_ROOM)
        now = self.services.now()
        rule: Callable[[Room], Decision] = (
            (lambda room: calls.admit(room, actor_id=peer_id, patient_id=target, now=now)) if kind == "admit"
            else (lambda room: calls.send_back(room, actor_id=peer_id, patient_id=target, now=now)))
        decision = await self.parts.hub.transact(room_id, org_id, rule)
        await self.parts.hub.publish(room_id, decision.outbound)
        if decision.member is not None:
            await self._log(org_id, room_id, target, decision.member.role,
                            "admitted" if kind == "admit" else "sent-back", ip)

    async def _depart(self, room_id: str, org_id: str, peer_id: str, role: str, conn: Connection, outcome: str,
                      ip: str, grace: float) -> None:
        hub, now = self.parts.hub, self.services.now()
        try:
            if outcome == "left":
                decision = await hub.transact(room_id, org_id, lambda room: calls.leave(
                    room, peer_id=peer_id, conn_id=conn.conn_id))
            else:
                decision = await hub.transact(room_id, org_id, lambda room: calls.disconnect(
                    room, peer_id=peer_id, conn_id=conn.conn_id, now=now, grace=grace))
                if decision.member is not None:
                    timer = asyncio.create_task(self._expire_later(room_id, org_id, peer_id, role, conn.conn_id,
                                                                   grace, ip))
                    self._timers.add(timer)
                    timer.add_done_callback(self._timers.discard)
            await hub.publish(room_id, decision.outbound)
            if decision.member is not None:
                await self._log(org_id, room_id, peer_id, role, outcome, ip)
        except Exception:  # shutting down: the rows expire through purge_expired on the next join
            log.warning("could not record the departure of a call participant", exc_info=True)

    async def _expire_later(self, room_id: str, org_id: str, peer_id: str, role: str, conn_id: str, grace: float,
                            ip: str) -> None:
        await asyncio.sleep(grace + 0.05)
        hub = self.parts.hub
        decision = await hub.transact(room_id, org_id, lambda room: calls.expire(
            room, peer_id=peer_id, conn_id=conn_id, now=self.services.now()))
        await hub.publish(room_id, decision.outbound)
        if decision.outbound:
            await self._log(org_id, room_id, peer_id, role, "gone", ip)

    async def _log(self, org_id: str, room_id: str, peer_id: str, role: str, event: str, ip: str) -> None:
        await self.runtime.call(self.parts.call_log.record, org_id, room_id, peer_id, role, event,
                                self.services.now(), ip)

    async def close_timers(self) -> None:
        for timer in list(self._timers):
            timer.cancel()


class IceServers(Resource):
    """STUN/TURN for a participant: authorised by a join token (header X-Join-Token; with the practitioner code
    also the admin's session as `Authorization: Bearer`) or by a session alone."""

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        container = self.runtime.container
        parts = container.calls
        assert parts is not None
        join = req.get_header("X-Join-Token")
        if join is not None:
            header = req.get_header("Authorization") or ""
            session = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else None

            def admission() -> None:  # the same rules as the socket: window, and who may lead
                grant = call_admission.resolve(self.services, parts.join_resolver, join, client_ip(req))
                call_admission.check_leader(self.services, grant, session)

            try:
                await self.runtime.call(admission)
            except Refused as refused:
                if refused.code == calls.CLOSE_AUTH:
                    raise falcon.HTTPUnauthorized(title="Nicht angemeldet", description=refused.reason) from None
                raise falcon.HTTPForbidden(title="Nicht erlaubt", description=refused.reason) from None
        else:
            await self.session(req)
        s = container.settings
        config = IceConfig(s.turn_urls, s.turn_secret, s.stun_urls, s.turn_ttl_seconds)
        resp.media = call_admission.ice_servers(config, secrets.token_hex(6), self.services.now())


class CallLog(Resource):
    """The practice's view of who joined its appointment, in which role, when, from which address."""

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        try:
            appointment_id = str(UUID(req.get_param("appointment_id", required=True)))
        except ValueError:
            raise falcon.HTTPBadRequest(title="Ungültige Anfrage",
                                        description="appointment_id ist keine gültige Termin-ID.") from None
        parts = self.runtime.container.calls
        assert parts is not None
        entries = await self.runtime.call(parts.call_log.entries, str(session.org_id), appointment_id)
        resp.media = {"appointment_id": appointment_id, "entries": entries}


class CallsLifespan:
    """Stops this worker's signalling hub (listener connection, pool) when the worker shuts down."""

    def __init__(self, runtime: Runtime, socket: CallSocket):
        self.runtime, self.socket = runtime, socket

    async def process_shutdown(self, scope: Any, event: Any) -> None:
        await self.socket.close_timers()
        with contextlib.suppress(falcon.HTTPServiceUnavailable, AuthFailed):
            parts = self.runtime.container.calls
            if parts is not None:
                await parts.hub.stop()


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    socket = CallSocket(runtime)
    app.add_route("/ws/v1/calls", socket)
    app.add_route("/api/v1/calls/ice-servers", IceServers(runtime))
    app.add_route("/api/v1/calls/log", CallLog(runtime))
    app.add_middleware(CallsLifespan(runtime, socket))


def add_openapi(spec: APISpec) -> None:
    join_header = {"name": "X-Join-Token", "in": "header", "required": False, "schema": {"type": "string"},
                   "description": "Join-Token (hex) statt einer Sitzung"}
    spec.path("/api/v1/calls/ice-servers", operations={"get": operation(
        "STUN/TURN-Server mit zeitlich begrenzten Zugangsdaten", None, (200, None), (401, 403),
        parameters=[join_header])})
    spec.path("/api/v1/calls/log", operations={"get": operation(
        "Protokoll eines Termins (wer, Rolle, wann, IP)", None, (200, None), (400, 401), True,
        parameters=[{"name": "appointment_id", "in": "query", "required": True, "schema": {"type": "string"}}])})
