"""The SDK's side of a consultation: signalling over `/ws/v1/calls`, peer-to-peer media with aiortc, and the
signalling-proof check of design/crypto.md §4.10a.

ICE candidates trickle both ways (design/crypto.md §8a.8): after each description this client sends its
candidates as `candidate` messages and an end-of-candidates marker, and it applies the candidates it receives,
so a browser peer need not wait for complete gathering. aiortc gathers before it describes, so its own
descriptions carry the candidates too.

The server relays the SDP, and the SDP carries the DTLS fingerprints that protect the media. So every offer
and answer is MACed with k_call, a key derived from the patient code that only the parties know; a
description whose MAC fails is never applied, and the call ends with a visible reason. ICE servers are always
passed explicitly (aiortc would otherwise ask Google's STUN server, and an unreachable one costs 5 s per side).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp

from sprechzimmer_protocol import calls

from .sdk import CODE_SECRETS

log = logging.getLogger("sprechzimmer.call")

MSG_TAMPERED = ("Die Verbindung wurde aus Sicherheitsgründen beendet: Die Gegenstelle konnte nicht bestätigt "
                "werden (Signalisierung verändert?).")
MSG_REMOTE_TAMPERED = ("Die Gegenstelle hat die Verbindung aus Sicherheitsgründen beendet: Ihre Verbindungsdaten "
                       "kamen verändert an.")
MSG_GONE = "Die Gegenstelle ist nicht zurückgekehrt."
TEST_PATTERN = "testsrc=size=320x240:rate=15"
RECONNECT_MAX_DELAY = 5.0
RETRY_CODES = frozenset({4503, 1011, 1012, 1013})  # signalling store away, server error, restart, try again

_FINGERPRINT = re.compile(r"^a=fingerprint:(.+?)\s*$", re.MULTILINE)
_UFRAG = re.compile(r"^a=ice-ufrag:(.+?)\s*$", re.MULTILINE)


@functools.cache
def _https_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CA bundle, or SSL_CERT_FILE/SSL_CERT_DIR), built once per
    process: a bare `httpx.get` builds it anew each time, and loading the bundle costs about 20 ms per join."""
    return httpx.create_ssl_context()


@functools.cache
def _wss_context() -> ssl.SSLContext:
    """What websockets uses for wss:// (`ssl.create_default_context()`, the system's CAs), once per process
    rather than once per connection and reconnect."""
    return ssl.create_default_context()


class CallError(Exception):
    """The call cannot go on; `str(error)` is the German reason to show."""

    def __init__(self, reason: str, code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class SignallingTampered(CallError):
    pass


def description_mac(k_call: bytes, label: str, role: str, sdp: str) -> str:
    """MAC over the sorted fingerprint lines and the ICE username fragment of one description (§4.10a)."""
    fingerprints = _FINGERPRINT.findall(sdp)
    ufrags = set(_UFRAG.findall(sdp))
    if not fingerprints or len(ufrags) != 1:
        raise SignallingTampered(MSG_TAMPERED)
    return calls.sdp_mac(k_call, label, role, fingerprints, ufrags.pop()).hex()


@dataclass
class PeerLink:
    """One peer-to-peer connection of this participant (one per other party: a mesh in conferences)."""

    peer_id: str
    role: str
    pc: RTCPeerConnection
    frames: int = 0
    first_frame_at: float | None = None
    connected_at: float | None = None
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    early_candidates: list[dict[str, Any] | None] = field(default_factory=list)  # before the remote description


def local_candidates(sdp: str) -> list[dict[str, Any]]:
    """The candidates of a description as trickle messages carry them (the browser's RTCIceCandidateInit):
    each once, in the first media section that has it (with BUNDLE all sections share one transport)."""
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    sections = re.split(r"\r?\n(?=m=)", sdp)[1:]
    session_ufrag = _UFRAG.search(re.split(r"\r?\nm=", sdp, maxsplit=1)[0])
    for index, section in enumerate(sections):
        mid = re.search(r"^a=mid:(\S+)", section, re.MULTILINE)
        ufrag = _UFRAG.search(section) or session_ufrag
        for line in re.findall(r"^a=(candidate:.+?)\s*$", section, re.MULTILINE):
            if line not in seen:
                seen.add(line)
                found.append({"candidate": line, "sdpMid": mid.group(1) if mid else None, "sdpMLineIndex": index,
                              "usernameFragment": ufrag.group(1) if ufrag else None})
    return found


class Call:
    def __init__(self, base_url: str, code: str, call_code: str | None = None, *, session_token: str | None = None,
                 video: str | None = None, test_pattern: bool = True, relay_only: bool = False,
                 auto_admit: bool = True, on_event: Callable[[str, dict[str, Any]], None] | None = None,
                 reconnect_attempts: int | None = None, signalling_url: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.signalling_url = signalling_url or self.base_url.replace("http", "ws", 1) + "/ws/v1/calls"
        self.join_token = CODE_SECRETS.join_token(code).hex()  # one Argon2id run per code (§8a.4)
        self.k_call = CODE_SECRETS.call_key(call_code or code)  # the practitioner passes the patient's code here
        self.session_token = session_token
        self.video, self.test_pattern, self.relay_only = video, test_pattern, relay_only
        self.auto_admit = auto_admit
        self.on_event = on_event or (lambda kind, data: None)
        self.reconnect_attempts = reconnect_attempts  # None: until the call is closed (a server restart)
        self.state = "new"
        self.error: CallError | None = None
        self.welcome: dict[str, Any] = {}
        self.waiting: list[dict[str, Any]] = []
        self.refusals: list[dict[str, Any]] = []
        self.links: dict[str, PeerLink] = {}
        self.ice_servers: list[dict[str, Any]] = []
        self.joined_at = 0.0
        self._ws: Any = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._players: list[MediaPlayer] = []
        self._closing = False
        self._changed = asyncio.Event()
        self._ended_frames = 0

    # --- public ---------------------------------------------------------------------------------------

    async def start(self, timeout: float = 20.0) -> None:
        """Fetch ICE servers, join, and return once the welcome has arrived (possibly in the waiting room)."""
        self.joined_at = time.monotonic()
        self.ice_servers = await asyncio.to_thread(self._fetch_ice_servers)
        await self._connect(None)
        self._tasks.append(asyncio.create_task(self._receive_loop()))
        self._tasks.append(asyncio.create_task(self._heartbeat()))

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.error is not None:
                raise self.error
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"call state {self.state}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))

    async def wait_connected(self, peers: int = 1, timeout: float = 30.0) -> None:
        await self.wait_for(lambda: sum(1 for lk in self.links.values() if lk.connected_at) >= peers, timeout)

    async def wait_frames(self, frames: int, peers: int = 1, timeout: float = 30.0) -> None:
        await self.wait_for(lambda: sum(1 for lk in self.links.values() if lk.frames >= frames) >= peers, timeout)

    def frames_received(self) -> dict[str, int]:
        return {peer: link.frames for peer, link in self.links.items()}

    def total_frames(self) -> int:
        """Video frames received in this call, including from connections that have ended since."""
        return self._ended_frames + sum(link.frames for link in self.links.values())

    def selected_pair(self, peer_id: str | None = None) -> tuple[str, str] | None:
        """Candidate types of the nominated ICE pair (aiortc's getStats lacks them; aioice's state has it)."""
        link = self.links[peer_id] if peer_id else next(iter(self.links.values()))
        for transceiver in link.pc.getTransceivers():
            ice = transceiver.sender.transport.transport
            nominated = getattr(ice._connection, "_nominated", {})
            for pair in nominated.values():
                return pair.local_candidate.type, pair.remote_candidate.type
        return None

    def path(self, peer_id: str | None = None) -> str:
        pair = self.selected_pair(peer_id)
        if pair is None:
            return "unbekannt"
        return "relayed" if "relay" in pair else "direct"

    async def round_trip_time(self, peer_id: str | None = None) -> float | None:
        link = self.links[peer_id] if peer_id else next(iter(self.links.values()))
        report = await link.pc.getStats()
        times = [s.roundTripTime for s in report.values() if getattr(s, "type", "") == "remote-inbound-rtp"
                 and getattr(s, "roundTripTime", None) is not None]
        return min(times) if times else None

    async def admit(self, peer_id: str) -> None:
        await self._send({"type": "admit", "peer": peer_id})

    async def send_back(self, peer_id: str) -> None:
        await self._send({"type": "send-back", "peer": peer_id})

    async def renegotiate(self, peer_id: str, add_track: MediaStreamTrack | None = None) -> None:
        """A new offer on an existing connection (e.g. a screen share as an additional video track)."""
        link = self.links[peer_id]
        if add_track is not None:
            link.pc.addTrack(add_track)
        await self._offer(link, "renegotiate")

    async def drop_connection(self) -> None:
        """Loses the signalling socket without a goodbye (tests of the reconnect path)."""
        if self._ws is not None:
            await self._ws.close()

    async def close(self) -> None:
        self._closing = True
        with contextlib.suppress(Exception):
            await self._send({"type": "leave"})
        for task in self._tasks:
            task.cancel()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        for link in list(self.links.values()):
            await self._close_link(link)
        for player in self._players:
            for track in (player.video, player.audio):
                if track is not None:
                    track.stop()
        self.state = "closed"

    # --- signalling -----------------------------------------------------------------------------------

    def _fetch_ice_servers(self) -> list[dict[str, Any]]:
        headers = {"X-Join-Token": self.join_token}
        if self.session_token:  # the practitioner code needs the admin's session (§8a.7)
            headers["Authorization"] = f"Bearer {self.session_token}"
        response = httpx.get(self.base_url + "/api/v1/calls/ice-servers", headers=headers, timeout=10,
                             verify=_https_context())
        if response.status_code != 200:
            detail = response.json().get("detail", "") if response.content else ""
            raise CallError(detail or "Die Verbindungsdaten konnten nicht abgerufen werden.", response.status_code)
        servers: list[dict[str, Any]] = response.json()["ice_servers"]
        return servers

    async def _connect(self, resume: dict[str, str] | None) -> None:
        tls: dict[str, Any] = {"ssl": _wss_context()} if self.signalling_url.startswith("wss:") else {}
        self._ws = await websockets.connect(self.signalling_url, max_size=2**20, open_timeout=10, **tls)
        hello: dict[str, Any] = {"type": "join", "token": self.join_token}
        if self.session_token:
            hello["session"] = self.session_token
        if resume:
            hello |= resume
        await self._ws.send(json.dumps(hello))
        message = json.loads(await asyncio.wait_for(self._ws.recv(), 15))
        if message.get("type") == "error":
            with contextlib.suppress(Exception):
                await self._ws.close()
            raise CallError(message.get("detail", ""), message.get("code"))
        resume_token = self.welcome.get("resume_token")
        self.welcome = message
        if resume_token and "resume_token" not in message:
            self.welcome["resume_token"] = resume_token
        self._set_state("waiting" if message["state"] == "waiting" else "admitted", message)
        if "waiting" in message:
            self.on_event("waiting-room", message)
        await self._handle_presence(message)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._ws is not None:
            await self._ws.send(json.dumps(message))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(float(self.welcome.get("heartbeat_seconds", 10)))
            with contextlib.suppress(Exception):
                await self._send({"type": "ping"})

    async def _receive_loop(self) -> None:
        while not self._closing:
            try:
                raw = await self._ws.recv()
            except websockets.ConnectionClosed as closed:
                if self._closing or self.error is not None:
                    return
                if not await self._resume(closed):
                    return
                continue
            try:
                await self._dispatch(json.loads(raw))
            except CallError as error:
                await self._fail(error)
                return
            except Exception:  # one bad message must not end a running call
                log.exception("signalling message failed")

    async def _resume(self, closed: websockets.ConnectionClosed) -> bool:
        """The media keeps flowing peer-to-peer; only signalling is re-established, in the same place (same peer
        id, still admitted) with the resume token. A restarting server is away for a while, so this retries
        with back-off (at most RECONNECT_MAX_DELAY apart) until the server answers, or until the call is
        closed; only a refusal of the resume itself (the place expired, the code's window closed) ends it."""
        self._set_state("reconnecting", {"code": closed.rcvd.code if closed.rcvd else None})
        attempt = 0
        while not self._closing and (self.reconnect_attempts is None or attempt < self.reconnect_attempts):
            await asyncio.sleep(min(0.2 * 2**attempt, RECONNECT_MAX_DELAY))
            attempt += 1
            try:
                await self._connect({"peer_id": self.welcome["peer_id"],
                                     "resume_token": self.welcome["resume_token"]})
                self.on_event("resumed", {"peer_id": self.welcome["peer_id"]})
                return True
            except CallError as error:
                if error.code in RETRY_CODES:  # the server is up but its signalling store is not yet
                    continue
                self._set_state("signalling-lost", {"detail": error.reason})
                return False
            except (OSError, TimeoutError, websockets.WebSocketException):
                continue
        self._set_state("signalling-lost", {})
        return False

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("offer", "renegotiate"):
            await self._on_offer(message)
        elif kind == "answer":
            await self._on_answer(message)
        elif kind == "candidate":
            await self._on_candidate(message)
        elif kind == "bye":
            reason = MSG_REMOTE_TAMPERED if message.get("reason") == "sdp-mac" else None
            link = self.links.get(message.get("from", ""))
            if link is not None:
                await self._close_link(link)
            if reason:
                raise SignallingTampered(reason)
        elif kind == "admitted":
            self._set_state("admitted", message)
            await self._offer_to(message.get("peers", []))
        elif kind in ("waiting-room", "peer-joined", "peer-disconnected", "peer-reconnected"):
            self.on_event(kind, message)
            await self._handle_presence(message)
        elif kind == "peer-left":
            self.on_event(kind, message)
            link = self.links.get(message.get("peer_id", ""))
            if link is not None:
                await self._close_link(link)
            if message.get("reason") == "gone":
                self.on_event("gone", {"peer_id": message.get("peer_id"), "detail": MSG_GONE})
        elif kind == "sent-back":
            for link in list(self.links.values()):
                await self._close_link(link)
            self._set_state("waiting", message)
        elif kind == "sync":  # the server's fan-out was away: our place as it is now
            await self._on_sync(message)
        elif kind == "refused":
            self.refusals.append(message)
            self.on_event("refused", message)
        elif kind in ("dropped", "error"):
            self.on_event(kind, message)
        self._changed.set()

    async def _on_sync(self, message: dict[str, Any]) -> None:
        waiting_here = self.state == "waiting"
        if message.get("state") == "admitted" and waiting_here:  # the "admitted" message was lost
            self._set_state("admitted", message)
            await self._offer_to(message.get("peers", []))
        elif message.get("state") == "waiting" and not waiting_here:  # so was a "sent-back"
            for link in list(self.links.values()):
                await self._close_link(link)
            self._set_state("waiting", message)
        await self._handle_presence(message)

    async def _handle_presence(self, message: dict[str, Any]) -> None:
        if "waiting" in message:
            self.waiting = list(message["waiting"])
            if self.auto_admit and self.welcome.get("role") == "practitioner":
                for entry in self.waiting:
                    if entry.get("connected", True):
                        await self.admit(entry["peer_id"])

    # --- media ----------------------------------------------------------------------------------------

    def _label(self, sender: str, receiver: str) -> str:
        """The MAC's context: the appointment, and in conferences also both peer ids (§4.10a)."""
        appointment = str(self.welcome["appointment_id"])
        return f"{appointment}:{sender}:{receiver}" if self.welcome.get("conference") else appointment

    def _new_link(self, peer_id: str, role: str) -> PeerLink:
        servers = []
        stun = next((s for s in self.ice_servers if not s.get("username")), None)
        turn = next((s for s in self.ice_servers if s.get("username")), None)
        for server in (stun, turn):  # aiortc uses one STUN and one TURN server per connection
            if server is not None:
                servers.append(RTCIceServer(urls=server["urls"], username=server.get("username"),
                                            credential=server.get("credential")))
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=policy))
        link = PeerLink(peer_id, role, pc)
        self.links[peer_id] = link
        for track in self._local_tracks():
            pc.addTrack(track)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "connected" and link.connected_at is None:
                link.connected_at = time.monotonic()
                self._set_state("connected", {"peer_id": peer_id, "path": self.path(peer_id)})
            elif pc.connectionState == "failed":
                self.on_event("failed", {"peer_id": peer_id})
            self._changed.set()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            link.readers.append(asyncio.create_task(self._read(link, track)))

        return link

    def _local_tracks(self) -> list[MediaStreamTrack]:
        if self.video:
            player = MediaPlayer(self.video)
        elif self.test_pattern:
            player = MediaPlayer(TEST_PATTERN, format="lavfi")
        else:
            return []
        self._players.append(player)
        return [t for t in (player.video, player.audio) if t is not None]

    async def _read(self, link: PeerLink, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                if track.kind == "video":
                    link.frames += 1
                    if link.first_frame_at is None:
                        link.first_frame_at = time.monotonic()
                    self._changed.set()

    async def _offer_to(self, peers: list[dict[str, Any]]) -> None:
        """The newly admitted party offers to everyone already in the room: exactly one offerer per pair."""
        for peer in peers:
            if peer["peer_id"] not in self.links:
                await self._offer(self._new_link(peer["peer_id"], peer["role"]), "offer")

    async def _offer(self, link: PeerLink, kind: str) -> None:
        await link.pc.setLocalDescription(await link.pc.createOffer())  # aiortc gathers every candidate here
        sdp = link.pc.localDescription.sdp
        mac = description_mac(self.k_call, self._label(self.welcome["peer_id"], link.peer_id),
                              self.welcome["role"], sdp)
        await self._send({"type": kind, "to": link.peer_id, "sdp": sdp, "mac": mac})
        await self._trickle(link.peer_id, sdp)

    async def _trickle(self, peer_id: str, sdp: str) -> None:
        """Our candidates one by one, then the end-of-candidates marker (`"candidate": null`), as a browser
        sends them; a peer that strips or ignores the candidates inside descriptions still connects."""
        for candidate in local_candidates(sdp):
            await self._send({"type": "candidate", "to": peer_id, "candidate": candidate})
        await self._send({"type": "candidate", "to": peer_id, "candidate": None})

    async def _on_candidate(self, message: dict[str, Any]) -> None:
        """A trickled candidate (or the end marker) of a peer; held back until its description is applied."""
        link = self.links.get(message.get("from", ""))
        if link is None:
            return
        candidate = message.get("candidate")
        if candidate is not None and not isinstance(candidate, dict):
            return
        if link.pc.remoteDescription is None:
            link.early_candidates.append(candidate)
            return
        await self._apply_candidate(link, candidate)

    async def _apply_candidate(self, link: PeerLink, init: dict[str, Any] | None) -> None:
        if init is None or not init.get("candidate"):  # null, or the browser's {"candidate": ""}: no more
            await link.pc.addIceCandidate(None)
            return
        remote = link.pc.remoteDescription
        ufrag = init.get("usernameFragment")
        if ufrag and remote is not None and ufrag not in _UFRAG.findall(remote.sdp):
            return  # a candidate of an earlier ICE generation (before a restart)
        text = str(init["candidate"])
        candidate: RTCIceCandidate = candidate_from_sdp(text.removeprefix("candidate:"))
        candidate.sdpMid = init.get("sdpMid")
        candidate.sdpMLineIndex = init.get("sdpMLineIndex")
        if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
            candidate.sdpMLineIndex = 0
        await link.pc.addIceCandidate(candidate)

    async def _apply_early_candidates(self, link: PeerLink) -> None:
        pending, link.early_candidates = link.early_candidates, []
        for init in pending:
            await self._apply_candidate(link, init)

    def _verify(self, message: dict[str, Any]) -> None:
        sdp, mac = message.get("sdp"), message.get("mac")
        if not isinstance(sdp, str) or not isinstance(mac, str):
            raise SignallingTampered(MSG_TAMPERED)
        expected = description_mac(self.k_call, self._label(message["from"], self.welcome["peer_id"]),
                                   str(message.get("role")), sdp)
        if not hmac.compare_digest(expected, mac):
            raise SignallingTampered(MSG_TAMPERED)

    async def _refuse_tampered(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            await self._send({"type": "bye", "to": message.get("from"), "reason": "sdp-mac"})
        raise SignallingTampered(MSG_TAMPERED)

    async def _on_offer(self, message: dict[str, Any]) -> None:
        try:
            self._verify(message)  # before setRemoteDescription: a forged fingerprint is never applied
        except SignallingTampered:
            await self._refuse_tampered(message)
        peer_id = message["from"]
        link = self.links.get(peer_id) or self._new_link(peer_id, str(message.get("role")))
        await link.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
        await self._apply_early_candidates(link)
        await link.pc.setLocalDescription(await link.pc.createAnswer())
        sdp = link.pc.localDescription.sdp
        mac = description_mac(self.k_call, self._label(self.welcome["peer_id"], peer_id), self.welcome["role"], sdp)
        await self._send({"type": "answer", "to": peer_id, "sdp": sdp, "mac": mac})
        await self._trickle(peer_id, sdp)

    async def _on_answer(self, message: dict[str, Any]) -> None:
        link = self.links.get(message.get("from", ""))
        if link is None:
            return
        try:
            self._verify(message)
        except SignallingTampered:
            await self._refuse_tampered(message)
        await link.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
        await self._apply_early_candidates(link)

    async def _close_link(self, link: PeerLink) -> None:
        if self.links.pop(link.peer_id, None) is not None:
            self._ended_frames += link.frames
        for reader in link.readers:
            reader.cancel()
        await link.pc.close()

    async def _fail(self, error: CallError) -> None:
        self.error = error
        self._set_state("failed", {"detail": error.reason})
        for link in list(self.links.values()):
            await self._close_link(link)

    def _set_state(self, state: str, data: dict[str, Any]) -> None:
        self.state = state
        self.on_event(state, data)
        self._changed.set()
