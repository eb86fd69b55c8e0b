"""What the browser call tests (and `python -m bench web`) share: Chromium with a fake camera and microphone,
page scripts that count decoded frames and measure audio, and the steps of the patient page and the practice's
call screen. The fixtures `browser` and `cli` are imported by the test modules that use them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, register
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, WebPage
from tests.web.test_register_login import SLOW

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]

# Counts decoded frames of every remote video (requestVideoFrameCallback fires once per presented frame) and
# measures the audio energy of the remote stream with WebAudio.
COUNT_FRAMES = """(selector) => {
  const videos = [...document.querySelectorAll(selector)];
  for (const video of videos) {
    if (video.__frames !== undefined) continue;
    video.__frames = 0;
    const tick = () => { video.__frames++; video.requestVideoFrameCallback(tick); };
    video.requestVideoFrameCallback(tick);
  }
  return videos.map((v) => v.__frames);
}"""

AUDIO_ENERGY = """async (selector) => {
  const video = document.querySelector(selector);
  const stream = video.srcObject;
  if (!stream || !stream.getAudioTracks().length) return 0;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let best = 0;
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 100));
    analyser.getFloatTimeDomainData(samples);
    best = Math.max(best, Math.sqrt(samples.reduce((s, x) => s + x * x, 0) / samples.length));
  }
  await context.close();
  return best;
}"""


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    """Chromium with a fake camera (a moving test pattern) and microphone (a beep), permissions granted."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS)
    yield chromium
    chromium.close()


def open_call_screen(practice: WebPage, appointment_id: str) -> None:
    """What "Sprechstunde starten" does (startConsultation): an in-app navigation, the session stays."""
    practice.page.evaluate("(path) => { history.pushState(null, '', path); dispatchEvent(new PopStateEvent("
                           "'popstate')); }", f"/sprechstunde/{appointment_id}")


def patient_enters(patient: WebPage, code: str, then: str = "Warteraum",
                   seen: Callable[[], object] | None = None) -> None:
    """Code, consent, waiting room; `seen` looks at the appointment's summary before consenting."""
    patient.goto(f"/join#{code}")
    patient.page.get_by_role("button", name="Weiter").click()
    patient.page.get_by_role("heading", name="Ihr Termin").wait_for(timeout=SLOW)
    if seen:
        seen()
    patient.page.get_by_role("checkbox").check()
    patient.page.get_by_role("button", name="Warteraum betreten").click()
    patient.page.get_by_role("heading", name=then).wait_for(timeout=SLOW)


def frames_flow(page: WebPage, minimum: int = 15) -> None:
    page.page.locator(".tile[data-peer] video").first.wait_for(state="attached", timeout=SLOW)
    page.page.wait_for_function(f"() => ({COUNT_FRAMES})('.tile[data-peer] video').every((n) => n >= {minimum})",
                                timeout=SLOW, polling=250)


# Registered with umlauts and ß: the patient page must show the name exactly so.
PRACTICE_NAME = "Hausarztpraxis Dr. Jürgen Weiß"

@pytest.fixture
def cli(new_client: Callable[[str], Client]) -> Client:
    client = new_client("cli")
    register(client, organisation__name=PRACTICE_NAME)
    client.login("PWinkler", "MartinW", PASSWORD)
    return client


def admitted_and_both_see_and_hear(patient: WebPage, practice: WebPage) -> None:
    """The practice admits the one patient waiting; both pages then decode the other's video, hear its audio,
    show a direct path and no security warning."""
    waiting = practice.page.locator(".waiting-list li")
    waiting.wait_for(timeout=SLOW)
    assert "wartet seit" in waiting.inner_text()
    waiting.get_by_role("button", name="Hereinholen").click()
    patient.page.get_by_role("heading", name="Videosprechstunde").wait_for(timeout=SLOW)
    for side in (patient, practice):
        frames_flow(side)
        assert side.page.evaluate(AUDIO_ENERGY, ".tile[data-peer] video") > 0.01
        side.page.locator('.path[data-path="direct"]').wait_for(timeout=SLOW)
        assert "direkt" in side.page.locator(".path").inner_text()
        assert side.page.get_by_role("heading", name="Sicherheitswarnung").count() == 0


def session_token(client: Client) -> str:
    """The practice admin's session: the practitioner code leads a call only with it (§8a.7)."""
    assert client.session is not None, "the practice is logged in"
    return client.session.token


# Keeps the page's signalling sockets reachable for a test, so it can drop one without a goodbye
# (test_call_media.py).
KEEP_SOCKETS = r"""
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
})();
"""
