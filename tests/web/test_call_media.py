"""The call's media beyond one picture each way (issue 12, acceptance): Debian's Chromium with fake camera and
microphone against the real server, on SQLite and PostgreSQL.

- screen sharing on plus arrives at the other side as a second video track that decodes frames, both ways;
- a conference of three browsers on plus, each page decoding both others in one tile per participant;
- a dropped patient socket plus a network change: the socket resumes, ICE restarts (new ufrag on both
  sides), frames go on, nobody is sent to the waiting room;
- a tampering signalling relay (Playwright's WebSocket route, in front of the real server) alters the DTLS
  fingerprints of the descriptions it passes: both pages show the security warning, no media flows.

The screen is Chromium's own getDisplayMedia: with --use-fake-ui-for-media-stream (and the fake devices) it
picks a fake 1280x720 screen without a picker, also headless (design/webrtc.md), so no canvas stand-in is
needed; the button is clicked as a user would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from interfaces.client import appointments
from interfaces.client.sdk import Client
from tests.appointments.conftest import PLUS_BILLING
from tests.calls.support import with_consent
from tests.conftest import PASSWORD, register
from tests.web import calls
from tests.web.calls import (
    COUNT_FRAMES,
    KEEP_SOCKETS,
    frames_flow,
    open_call_screen,
    patient_enters,
)
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_register_login import SLOW

# Keeps every RTCPeerConnection of the page reachable for the test (to read the ICE ufrag of its
# descriptions); the app's own code is unchanged.
KEEP_PEERS = r"""
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      this.everConnected = false;  // whether DTLS ever completed, that is media could have flowed
      this.addEventListener('connectionstatechange', () => {
        if (this.connectionState === 'connected') this.everConnected = true;
      });
      window.__peers.push(this);
    }
  };
})();
"""

# The ufrag of the open connection's local and remote description (one connection in a 1:1 call).
UFRAGS = """() => {
  const pc = window.__peers.filter((p) => p.connectionState !== 'closed').at(-1);
  const ufrag = (d) => d && (d.sdp.match(/^a=ice-ufrag:(\\S+)/m) || [])[1];
  return {local: ufrag(pc.localDescription), remote: ufrag(pc.remoteDescription)};
}"""

# The call tests' fixtures: Chromium with fake camera and microphone, a registered practice.
browser, cli = calls.browser, calls.cli


def plus_practice(new_page: Callable[[], WebPage], new_client: Callable[[str], Client]) -> tuple[Client, WebPage]:
    """A practice on plan plus (screen sharing, conferences) with its browser approved."""
    client = new_client("plus")
    register(client, plan="plus", billing=PLUS_BILLING)
    client.login("PWinkler", "MartinW", PASSWORD)
    return client, approved_browser(new_page, client)


def frames_of(page: WebPage, selector: str) -> list[int]:
    return list(page.page.evaluate(f"(s) => ({COUNT_FRAMES})(s)", selector))


def decoding(page: WebPage, selector: str, count: int, minimum: int = 15) -> None:
    """`count` videos match `selector` and each has presented at least `minimum` frames."""
    page.page.wait_for_function(
        f"([s, count, min]) => {{ const n = ({COUNT_FRAMES})(s); "
        "return n.length === count && n.every((f) => f >= min); }",
        arg=[selector, count, minimum], timeout=SLOW, polling=250)


def admitted_pair(new_page: Callable[[], WebPage], cli: Client, practice: WebPage, name: str,
                  patient_script: str | None = None) -> WebPage:
    """A 1:1 call: the patient waits, the practice admits, both decode the other's video."""
    planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, name)
    patient = new_page()
    if patient_script:
        patient.page.add_init_script(patient_script)
    patient_enters(patient, planned.patient.codes["patient"])
    open_call_screen(practice, planned.appointment_id)
    practice.page.get_by_role("button", name="Hereinholen").click(timeout=SLOW)
    for side in (patient, practice):
        frames_flow(side)
    return patient


SCREEN = 'video[aria-label="Geteilter Bildschirm"]'
CAMERA = '.tile[data-peer] video[aria-label="Gegenstelle"]'


def test_screen_sharing_on_plus_arrives_as_a_second_video_track(new_page: Callable[[], WebPage],
                                                                new_client: Callable[[str], Client]) -> None:
    cli, practice = plus_practice(new_page, new_client)
    patient = admitted_pair(new_page, cli, practice, "Patientin Yılmaz")

    # The practitioner shares: the patient's tile gets a second video track, its own picture, decoding.
    practice.page.get_by_role("button", name="Bildschirm teilen").click()
    practice.page.get_by_role("button", name="Teilen beenden").wait_for(timeout=SLOW)
    decoding(patient, SCREEN, 1)
    tracks = patient.page.evaluate("() => document.querySelector('.tile[data-peer] video').srcObject"
                                   ".getVideoTracks().map((t) => t.readyState)")
    assert tracks == ["live", "live"]
    # the shared screen is Chromium's fake 1280x720 screen, not the 640x480 camera
    assert patient.page.evaluate(f"() => document.querySelector('{SCREEN}').videoWidth") > 640
    assert practice.page.get_by_text("nur im Tarif plus").count() == 0
    before = frames_of(patient, CAMERA)[0]
    decoding(patient, CAMERA, 1, before + 15)  # the camera goes on beside the screen

    # Stopped: the second picture leaves the patient's tile.
    practice.page.get_by_role("button", name="Teilen beenden").click()
    patient.page.locator(SCREEN).wait_for(state="detached", timeout=SLOW)

    # And the patient's page shares the other way.
    patient.page.get_by_role("button", name="Bildschirm teilen").click()
    decoding(practice, SCREEN, 1)
    for side in (patient, practice):
        assert side.page.get_by_role("heading", name="Sicherheitswarnung").count() == 0
        assert side.foreign_requests == []


def conference_enters(patient: WebPage, code: str, call_code: str) -> None:
    """A conference participant opens the invitation's link (code and call code in the fragment)."""
    patient.goto(f"/join#code={code}&call={call_code}")
    patient.page.get_by_role("button", name="Weiter").click()
    patient.page.get_by_role("heading", name="Ihr Termin").wait_for(timeout=SLOW)
    patient.page.get_by_role("button", name="Warteraum betreten").click()  # consent recorded by the practice
    patient.page.get_by_role("heading", name="Warteraum").wait_for(timeout=SLOW)


def test_conference_of_three_browsers_each_decodes_both_others(new_page: Callable[[], WebPage],
                                                               new_client: Callable[[str], Client]) -> None:
    cli, practice = plus_practice(new_page, new_client)
    planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 60, "Familie Petrenko",
                               participants=2)
    with_consent(cli, planned)
    codes, call_code = planned.patient.codes, planned.patient.call_code
    assert call_code is not None
    first, second = new_page(), new_page()
    conference_enters(first, codes["patient"], call_code)
    conference_enters(second, codes["patient-2"], call_code)

    open_call_screen(practice, planned.appointment_id)
    waiting = practice.page.locator(".waiting-list li")
    waiting.nth(1).wait_for(timeout=SLOW)
    for left in (1, 0):  # admit both; each admitted participant offers to everyone in the room
        waiting.first.get_by_role("button", name="Hereinholen").click()
        practice.page.wait_for_function("(n) => document.querySelectorAll('.waiting-list li').length === n",
                                        arg=left, timeout=SLOW)

    pages = (practice, first, second)
    for page in pages:  # one tile per other participant, each decoding
        decoding(page, ".tile[data-peer] video", 2)
    peer_ids = [set(page.page.eval_on_selector_all(".tile[data-peer]", "(ts) => ts.map((t) => t.dataset.peer)"))
                for page in pages]
    assert all(len(ids) == 2 for ids in peer_ids)
    # a full mesh: the three pages see three different pairs of peers, and a patient's tiles show
    # the practitioner and the other patient
    assert len({frozenset(ids) for ids in peer_ids}) == 3
    for page in (first, second):
        roles = sorted(page.page.eval_on_selector_all(".tile[data-peer]", "(ts) => ts.map((t) => t.dataset.role)"))
        assert roles == ["patient", "practitioner"]
    for page in pages:
        assert page.page.get_by_role("heading", name="Sicherheitswarnung").count() == 0
        assert page.foreign_requests == []


def test_dropped_socket_and_network_change_restart_ice_without_the_waiting_room(
        new_page: Callable[[], WebPage], cli: Client) -> None:
    def watched_page() -> WebPage:
        page = new_page()
        page.page.add_init_script(KEEP_PEERS)
        return page

    practice = approved_browser(watched_page, cli)
    patient = admitted_pair(new_page, cli, practice, "Patient Kowalski", patient_script=KEEP_SOCKETS + KEEP_PEERS)
    patient.page.wait_for_function("() => window.__peers.some((p) => p.connectionState === 'connected')")
    before = {"patient": patient.page.evaluate(UFRAGS), "practice": practice.page.evaluate(UFRAGS)}
    assert before["patient"]["local"] == before["practice"]["remote"]

    # The patient's network changes: the signalling socket drops without a goodbye, and the browser reports
    # the new network (the "online" event) while the socket is still down.
    patient.page.evaluate("() => { window.__sockets.at(-1).close(); dispatchEvent(new Event('online')); }")
    patient.page.wait_for_function("() => window.__sockets.length === 2 && window.__sockets[1].readyState === 1",
                                   timeout=SLOW, polling=250)
    patient.page.get_by_text("Die Verbindung wird wiederhergestellt").wait_for(state="detached", timeout=SLOW)

    # Back on the socket, the patient restarted ICE: a new ufrag on its side, seen by the practice, which
    # answered with a new one of its own.
    patient.page.wait_for_function(
        f"(old) => {{ const u = ({UFRAGS})(); return u.local !== old.local && u.remote !== old.remote; }}",
        arg=before["patient"], timeout=SLOW, polling=250)
    after = {"patient": patient.page.evaluate(UFRAGS), "practice": practice.page.evaluate(UFRAGS)}
    assert after["patient"]["local"] == after["practice"]["remote"] != before["patient"]["local"]
    assert after["practice"]["local"] == after["patient"]["remote"] != before["practice"]["local"]

    for side in (patient, practice):  # the media goes on over the new ICE generation, on both sides
        side.page.wait_for_function("() => window.__peers.some((p) => p.iceConnectionState === 'connected' "
                                    "|| p.iceConnectionState === 'completed')", timeout=SLOW)
        count = frames_of(side, ".tile[data-peer] video")[0]
        frames_flow(side, count + 15)
    assert patient.page.get_by_role("heading", name="Warteraum").count() == 0
    assert patient.page.get_by_role("heading", name="Videosprechstunde").count() == 1
    assert practice.page.locator(".waiting-list li").count() == 0
    assert practice.page.locator(".tile[data-peer]").count() == 1


FINGERPRINT = re.compile(r"(a=fingerprint:sha-256 )([0-9A-F]{2})")


class TamperingRelay:
    """A man in the middle on a page's signalling WebSocket (Playwright routes the socket to this test double,
    which connects to the real server and passes every frame on): every offer and answer through it carries
    another DTLS fingerprint, as a malicious server would send."""

    def __init__(self) -> None:
        self.tampered = 0
        self.sockets = 0

    def alter(self, frame: str | bytes) -> str | bytes:
        if not isinstance(frame, str):
            return frame
        message = json.loads(frame)
        if message.get("type") in ("offer", "answer", "renegotiate") and isinstance(message.get("sdp"), str):
            message["sdp"] = FINGERPRINT.sub(lambda m: m[1] + ("11" if m[2] == "00" else "00"), message["sdp"])
            self.tampered += 1
            return json.dumps(message)
        return frame

    def route(self, page: Any) -> None:
        def handle(ws: Any) -> None:
            self.sockets += 1
            server = ws.connect_to_server()
            ws.on_message(lambda frame: server.send(self.alter(frame)))
            server.on_message(lambda frame: ws.send(self.alter(frame)))

        page.route_web_socket(re.compile(r"/ws/v1/calls$"), handle)


def test_tampering_signalling_shows_the_security_warning_on_both_pages(new_page: Callable[[], WebPage],
                                                                       cli: Client) -> None:
    relay = TamperingRelay()

    def relayed_page() -> WebPage:
        page = new_page()
        relay.route(page.page)  # in place before the app opens its socket
        page.page.add_init_script(KEEP_PEERS)
        return page

    def watched_page() -> WebPage:
        page = new_page()
        page.page.add_init_script(KEEP_PEERS)
        return page

    practice = approved_browser(relayed_page, cli)
    planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, "Patient Nowak")
    patient = watched_page()
    patient_enters(patient, planned.patient.codes["patient"])
    open_call_screen(practice, planned.appointment_id)
    practice.page.get_by_role("button", name="Hereinholen").click(timeout=SLOW)

    for side, text in ((practice, "konnte nicht bestätigt werden"), (patient, "kamen verändert an")):
        warning = side.page.get_by_role("alert").filter(has_text="Sicherheitswarnung")
        warning.wait_for(timeout=SLOW)
        assert text in warning.inner_text()
        assert side.page.locator(".tile[data-peer]").count() == 0
        # no media: the descriptions were refused before use, no connection ever completed DTLS
        assert side.page.evaluate("() => window.__peers.every((p) => !p.everConnected)")
        assert side.foreign_requests == []
    assert relay.sockets >= 1 and relay.tampered >= 1
