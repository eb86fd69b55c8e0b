"""The browser app. Bundle sizes (web/dist, built by `make web`): what each entry point makes the browser
download before it is interactive, raw and gzip -9, against a floor measured in the same run — the gzip size
of libsodium's sumo module alone, the one part no page that does cryptography can leave out. The patient
page (/join) has a goal of ≤ 250 KB gzip before the call starts (issue 12): measured in Chromium as everything
the patient's browser fetches from opening /join to the waiting room (code form, key derivation worker, pre-call
check). The time from opening the login page to the calendar shown, in Chromium, against the page load alone.
And join → first decoded frame, Chromium ↔ Chromium (issue 12), against the same-run aiortc ↔ aiortc floor of
bench/calls.py; BENCH_BROWSER_CALLS sets the number of calls (default 20, the least for a p95 by issue 13's
rules; fewer only while developing)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import os
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "web" / "dist"
LIBSODIUM = ROOT / "web" / "node_modules" / "libsodium-sumo" / "dist" / "modules-sumo-esm" / "libsodium-sumo.mjs"
ENTRIES = {"practice app (/)": "index.html", "patient page (/join)": "join/index.html"}
PATIENT_GOAL = 250 * 1024


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def _static_imports(path: Path, seen: set[Path]) -> None:
    """The entry's chunk and the chunks it imports statically (what loads before the page is interactive)."""
    if path in seen or not path.is_file():
        return
    seen.add(path)
    if path.suffix == ".js":
        for name in re.findall(r'(?:^|[;}\s])import\s*(?:[^"\'()]*?from\s*)?["\']\./([^"\']+)["\']',
                               path.read_text(errors="replace")):
            _static_imports(path.parent / name, seen)


def entry_files(html: Path) -> set[Path]:
    files: set[Path] = {html}
    for ref in re.findall(r'(?:src|href)="/(assets/[^"]+)"', html.read_text()):
        _static_imports(DIST / ref, files)
    return files


def cli() -> None:
    bundle_sizes()
    if CHROMIUM.exists():
        login_to_calendar()
        browser_calls(int(os.environ.get("BENCH_BROWSER_CALLS", "20")))
    else:
        print("Chromium benches skipped (no /usr/bin/chromium; `make test-deps` installs it)")


def bundle_sizes() -> None:
    subprocess.run(["make", "--no-print-directory", "-s", "-C", str(ROOT), "web"], check=True,
                   stdout=subprocess.DEVNULL)
    floor = _gzip_size(LIBSODIUM.read_bytes()) if LIBSODIUM.is_file() else None
    if floor:
        print(f"floor: libsodium sumo module alone {floor / 1024:.0f} KB gzip")
    for label, name in ENTRIES.items():
        files = entry_files(DIST / name)
        raw = sum(p.stat().st_size for p in files)
        packed = sum(_gzip_size(p.read_bytes()) for p in files)
        ratio = f", {packed / floor:.2f}× floor" if floor else ""
        # The patient page's goal covers everything until the call starts, measured by browser_calls.
        first = " (the code form; the rest loads after the code, see below)" if name.startswith("join") else ""
        print(f"{label}: {len(files)} files, {raw / 1024:.0f} KB raw, {packed / 1024:.0f} KB gzip{ratio}{first}")
    for worker in sorted((DIST / "assets").glob("*.worker-*.js")):
        packed = _gzip_size(worker.read_bytes())
        ratio = f", {packed / floor:.2f}× floor" if floor else ""
        print(f"worker {worker.name.split('-')[0]} (loaded on first key derivation): "
              f"{worker.stat().st_size / 1024:.0f} KB raw, {packed / 1024:.0f} KB gzip{ratio}")


# --- time from opening the login page to the calendar shown ---------------------------------------------

N_LOGINS = 7
CHROMIUM = Path("/usr/bin/chromium")


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"


def login_to_calendar() -> None:
    """Chromium against a real server (SQLite): an approved browser opens /anmelden, logs in (Argon2id 2/64 MiB in
    a worker, two round trips, keyring opened) and waits for the day's calendar. Floor: the same page load
    without logging in, in the same run."""
    from playwright.sync_api import sync_playwright

    from interfaces.client import devices
    from interfaces.client.keystore import LocalStore
    from interfaces.client.sdk import Client

    logging.getLogger("httpx").setLevel(logging.WARNING)
    form = json.loads((ROOT / "tests" / "fixtures" / "praxis_winkler.json").read_text())
    secrets = [form.pop(k) for k in ("password", "password_repeat", "master_password", "master_password_repeat")]
    org, user, password = form["credentials"]["org_short"], form["credentials"]["user_short"], secrets[0]
    with tempfile.TemporaryDirectory() as tmp, _server(Path(tmp)) as url, sync_playwright() as playwright:
        cli = Client(url, LocalStore(Path(tmp) / "cli"))
        cli.register(form, *secrets)
        cli.login(org, user, password)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(base_url=url)

        def open_login() -> float:
            started = time.perf_counter()
            page.goto("/anmelden")
            page.get_by_role("heading", name="Anmelden").wait_for()
            return time.perf_counter() - started

        def submit() -> None:
            page.get_by_label("Kurzname der Organisation *", exact=True).fill(org)
            page.get_by_label("Kurzname des Benutzers *", exact=True).fill(user)
            page.get_by_label("Passwort *", exact=True).fill(password)
            page.get_by_role("button", name="Anmelden").click()

        open_login()
        submit()  # an unknown browser: request approval, approve it with the SDK
        page.get_by_label("Kurzname des Endgerätes *", exact=True).fill("Bench")
        page.get_by_role("button", name="Freischaltung anfordern").click()
        code = page.locator("#pairing-code")
        code.wait_for(timeout=120_000)
        pending: list[dict] = []
        while not pending:  # the device list is a read model: wait for the request (and its pairing tag)
            pending = [d for d in devices.list_devices(cli)["devices"]
                       if d["status"] == "pending" and d.get("pairing_tag")]
            time.sleep(0.1)
        devices.approve(cli, pending[0]["device_id"], code.inner_text())
        page.get_by_role("heading", name="Termine").wait_for(timeout=120_000)

        floors, logins = [], []
        for _ in range(N_LOGINS):
            floors.append(open_login())
            started = time.perf_counter()
            page.goto("/anmelden")
            submit()
            page.get_by_text("Keine Termine an diesem Tag.").wait_for(timeout=120_000)
            logins.append(time.perf_counter() - started)
        browser.close()
        cli.close()
    print(f"login page → calendar shown (Chromium, {N_LOGINS} runs): median {_median_ms(logins)}; "
          f"floor (login page load) {_median_ms(floors)}; "
          f"{statistics.median(logins) / statistics.median(floors):.1f}× floor")


@contextlib.contextmanager
def _server(directory: Path) -> Iterator[str]:
    from infrastructure.settings import Secrets, Settings
    from interfaces.bootstrap import build
    from interfaces.http.app import create_app
    from interfaces.http.common import Runtime

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=directory / "var", database_url=None, keystore_url=None, origins=(url,),
                        secrets=Secrets(os.urandom(32), os.urandom(32), os.urandom(32)))
    settings.data_dir.mkdir(parents=True)
    runtime = Runtime(lambda: build(settings), background=False)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- join → first decoded frame, Chromium ↔ Chromium ------------------------------------------------------

FIRST_FRAME_GOAL_MS = 300  # design/web.md: p50 on an idle machine

# In every page before its own scripts (injected by the browser, outside the page's CSP): the moment the
# practitioner clicks in the waiting list (admits the patient), and the first decoded frame
# (requestVideoFrameCallback) of every remote stream. Armed in the srcObject setter, so no frame can come before
# the watch and a reused <video> element is watched again for its new stream; counted only if the element is a
# remote tile and still shows that stream. Date.now(): both pages share the machine's clock.
WATCH_FIRST_FRAME = """(() => {
window.__admittedAt = null;
window.__firstFrames = [];
document.addEventListener("click", (e) => {
  if (e.target instanceof Element && e.target.closest(".waiting-list button")) window.__admittedAt = Date.now();
}, true);
const native = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, "srcObject");
Object.defineProperty(HTMLMediaElement.prototype, "srcObject", {
  configurable: true,
  get() { return native.get.call(this); },
  set(stream) {
    native.set.call(this, stream);
    if (!stream || !(this instanceof HTMLVideoElement)) return;
    this.requestVideoFrameCallback(() => {
      if (this.srcObject === stream && this.closest(".tile[data-peer]")) window.__firstFrames.push(Date.now());
    });
  },
});
})();
"""


def _dist_file(path: str) -> Path | None:
    """The built file behind a path the browser fetched (/join → join/index.html), or None (API, WebSocket)."""
    relative = "join/index.html" if path.rstrip("/") == "/join" else path.lstrip("/")
    candidate = DIST / relative
    return candidate if relative.startswith(("assets/", "join/")) and candidate.is_file() else None


def browser_calls(runs: int) -> None:
    """Chromium ↔ Chromium through a real server (SQLite), fake camera and microphone: the practice's approved
    browser admits a patient who entered the code on /join and waits; measured from the admitting click to the
    later of the two pages' first decoded remote frame (signalling, ICE, DTLS, the first frame decoded and
    shown). Floor, alternating with the calls: two aiortc peers in one process exchanging their descriptions
    directly (bench/calls.py), the least any call needs. The patient's fetches up to the waiting room give the
    patient page's size before the call starts."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime, timedelta
    from urllib.parse import urlsplit

    from playwright.sync_api import sync_playwright

    from bench.calls import floor_first_frame, line
    from interfaces.client import appointments
    from interfaces.client.keystore import LocalStore
    from interfaces.client.sdk import Client
    from tests.conftest import PASSWORD, register
    from tests.web.calls import MEDIA_ARGS, open_call_screen, patient_enters
    from tests.web.conftest import CHROMIUM_ARGS, WebPage, open_page
    from tests.web.test_appointments import approved_browser
    from tests.web.test_register_login import SLOW

    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aioice").setLevel(logging.WARNING)
    floors: list[float] = []
    calls: list[float] = []
    failed: list[str] = []
    fetched: set[Path] = set()
    frozen: set[Path] = set()
    with tempfile.TemporaryDirectory() as tmp, _server(Path(tmp)) as url, sync_playwright() as playwright, \
            ThreadPoolExecutor(1) as aio:  # aiortc's floor in a thread of its own, beside the sync driver
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS + MEDIA_ARGS)
        contexts: list[Any] = []

        def page() -> WebPage:
            context, web_page = open_page(browser, url)
            context.add_init_script(WATCH_FIRST_FRAME)
            contexts.append(context)
            return web_page

        cli = Client(url, LocalStore(Path(tmp) / "cli"))
        register(cli)
        cli.login("PWinkler", "MartinW", PASSWORD)
        practice = approved_browser(page, cli)
        for index in range(runs):
            floors.append(aio.submit(asyncio.run, floor_first_frame()).result())
            planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, "Bench")
            patient = page()  # a fresh context: nothing cached, as for a patient's first visit
            if index == 0:
                patient.page.context.on("response", lambda r: _add(fetched, _dist_file(urlsplit(r.url).path)))
            patient_enters(patient, planned.patient.codes["patient"])  # up to the waiting room
            if index == 0:
                frozen = set(fetched)  # what the call itself loads does not count
            practice.page.evaluate("() => { window.__admittedAt = null; window.__firstFrames = []; }")
            open_call_screen(practice, planned.appointment_id)
            practice.page.locator(".waiting-list li").get_by_role("button", name="Hereinholen").click(timeout=SLOW)
            took = _admitted_to_first_frames(patient, practice)
            if took is None:
                failed.append(f"call {index + 1}: " + ", ".join(
                    f"{name} {side.page.locator('.tile[data-peer] video').count()} remote videos"
                    + (" (still connecting)" if side.page.get_by_text("Verbindung wird aufgebaut").count() else "")
                    for name, side in (("patient", patient), ("practice", practice))))
            else:
                calls.append(took)
            patient.page.context.close()
            contexts.remove(patient.page.context)
        for context in contexts:
            context.close()
        browser.close()
        cli.close()
    line("floor: aiortc ↔ aiortc pair without server", floors)
    if calls:
        line("join → first frame, Chromium ↔ Chromium", calls, floors, goal=FIRST_FRAME_GOAL_MS)
    print(f"{'  connected':<44} {len(calls)}/{runs} {'✓' if not failed else '✗'}"
          f"  (a call without a decoded frame on both sides {CONNECT_TIMEOUT_MS // 1000} s after admission fails)")
    for failure in failed:
        print(f"    {failure}")
    raw = sum(p.stat().st_size for p in frozen)
    packed = sum(_gzip_size(p.read_bytes()) for p in frozen)
    verdict = "✓" if packed <= PATIENT_GOAL else "✗"
    print(f"patient page before the call starts (fetched by Chromium: {len(frozen)} files): {raw / 1024:.0f} KB "
          f"raw, {packed / 1024:.0f} KB gzip  goal ≤ {PATIENT_GOAL // 1024} KB {verdict}")
    for path in sorted(frozen, key=lambda p: -p.stat().st_size):
        print(f"  {path.relative_to(DIST)}: {_gzip_size(path.read_bytes()) / 1024:.0f} KB gzip")


CONNECT_TIMEOUT_MS = 30_000


def _admitted_to_first_frames(patient: Any, practice: Any) -> float | None:
    """Milliseconds from the admitting click to the later of the two pages' first decoded remote frame."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        for side in (patient, practice):
            side.page.wait_for_function("() => window.__firstFrames.length > 0", timeout=CONNECT_TIMEOUT_MS)
    except PlaywrightTimeout:
        return None
    first = max(side.page.evaluate("window.__firstFrames[0]") for side in (patient, practice))
    return float(first - practice.page.evaluate("window.__admittedAt"))


def _add(into: set[Path], path: Path | None) -> None:
    if path is not None:
        into.add(path)
