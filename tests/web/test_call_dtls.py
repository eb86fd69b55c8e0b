"""What a call in the browser actually negotiated (issue 15.7, BSI TR-02102-2): Chromium's getStats `transport`
names the DTLS version, the DTLS cipher suite and the SRTP protection profile of the running consultation; each
must be one TR-02102-2 accepts — DTLS 1.2 or 1.3, ephemeral ECDHE with an AEAD cipher, an SRTP profile of
RFC 7714 (AES-GCM) or RFC 5764's AES-CM with HMAC-SHA1-80."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from interfaces.client import appointments
from interfaces.client.sdk import Client
from tests.web import calls
from tests.web.calls import frames_flow, open_call_screen, patient_enters
from tests.web.conftest import WebPage
from tests.web.test_appointments import approved_browser
from tests.web.test_register_login import SLOW

# Every RTCPeerConnection the page uses is remembered (the constructor stays the browser's own), so the test can
# ask it for its statistics.
KEEP_CONNECTIONS = """(() => {
  if (window.__connections) return;
  window.__connections = [];
  for (const name of ['setLocalDescription', 'setRemoteDescription']) {
    const original = RTCPeerConnection.prototype[name];
    RTCPeerConnection.prototype[name] = function (...args) {
      if (!window.__connections.includes(this)) window.__connections.push(this);
      return original.apply(this, args);
    };
  }
})()"""

TRANSPORTS = """async () => {
  const found = [];
  for (const pc of window.__connections || []) {
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'transport') found.push({dtlsState: s.dtlsState, tlsVersion: s.tlsVersion,
        dtlsCipher: s.dtlsCipher, srtpCipher: s.srtpCipher, dtlsRole: s.dtlsRole});
    });
  }
  return found;
}"""

DTLS_VERSIONS = {"FEFD": "DTLS 1.2", "FEFC": "DTLS 1.3"}
DTLS_SUITES = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
               "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
               "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}
# (Chromium's names of the RFC 7714 and RFC 5764 profiles)
SRTP_PROFILES = {"SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM", "SRTP_AES128_CM_HMAC_SHA1_80"}

# The call tests' fixtures: Chromium with fake camera and microphone, a registered practice.
browser, cli = calls.browser, calls.cli


def negotiated(page: WebPage) -> list[dict[str, Any]]:
    page.page.wait_for_function(f"async () => ({TRANSPORTS})().then((t) => t.some((x) => x.dtlsState === "
                                "'connected'))", timeout=SLOW, polling=250)
    return [t for t in page.page.evaluate(TRANSPORTS) if t["dtlsState"] == "connected"]


def test_the_call_negotiates_dtls_and_srtp_that_tr_02102_accepts(new_page: Callable[[], WebPage],
                                                                  cli: Client) -> None:
    practice = approved_browser(new_page, cli)
    practice.page.evaluate(KEEP_CONNECTIONS)  # the call screen opens in place, without loading the page
    planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, "Patientin Özdemir")
    patient = new_page()
    patient.page.add_init_script(KEEP_CONNECTIONS)
    patient_enters(patient, planned.patient.codes["patient"])
    open_call_screen(practice, planned.appointment_id)
    practice.page.locator(".waiting-list li").get_by_role("button", name="Hereinholen").click(timeout=SLOW)
    frames_flow(patient)

    seen = {side: negotiated(page) for side, page in (("patient", patient), ("practice", practice))}
    for side, transports in seen.items():
        assert transports, f"{side}: no connected DTLS transport"
        for transport in transports:
            assert transport["tlsVersion"] in DTLS_VERSIONS, (side, transport)
            assert transport["dtlsCipher"] in DTLS_SUITES, (side, transport)
            assert transport["srtpCipher"] in SRTP_PROFILES, (side, transport)
    # Both ends of the one transport agree, with opposite DTLS roles.
    (patient_side,), (practice_side,) = seen["patient"], seen["practice"]
    assert {k: v for k, v in patient_side.items() if k != "dtlsRole"} == \
        {k: v for k, v in practice_side.items() if k != "dtlsRole"}
    assert {patient_side["dtlsRole"], practice_side["dtlsRole"]} == {"client", "server"}
