"""The browser app. Bundle sizes (web/dist, built by `make web`): what each entry point makes the browser
download before it is interactive, raw and gzip -9, against a floor measured in the same run — the gzip size
of libsodium's sumo module alone, the one part no page that does cryptography can leave out. The patient
page (/join) has a goal of ≤ 250 KB gzip before the call starts (issue 12). And the time from opening the
login page to the calendar shown, in Chromium, against the page load alone."""

from __future__ import annotations

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
    else:
        print("login page → calendar: skipped (no /usr/bin/chromium; `make test-deps` installs it)")


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
        goal = f", goal ≤ {PATIENT_GOAL // 1024} KB: {'met' if packed <= PATIENT_GOAL else 'MISSED'}" \
            if name.startswith("join") else ""
        print(f"{label}: {len(files)} files, {raw / 1024:.0f} KB raw, {packed / 1024:.0f} KB gzip{ratio}{goal}")
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
