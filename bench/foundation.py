"""Event store and login costs, each against a floor measured in the same run on the same database.

- appends: single-event saves through the application (per-organisation encryption included) vs raw
  single-row INSERT transactions into the same database;
- login: server round trips of /auth/start + /auth/finish vs two no-op requests (/healthz) on the same
  server (the client's Argon2 is done once beforehand: it is client work, not server time);
- login start, known vs unknown organisation: interleaved /auth/start round trips for an organisation with a
  history of 100 events and for a name nobody registered; the medians must differ by less than the same
  path's spread (IQR), or the answer time tells whether an organisation exists (issue 10.4);
- replay: decoding the whole log as an auditor does, in events per second, vs a raw SELECT of the same rows.

PostgreSQL runs too when BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import uvicorn

from application import access
from domain.base import OrgAggregate
from infrastructure.settings import Secrets, Settings
from interfaces.bootstrap import Container, build
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from interfaces.http.app import create_app
from interfaces.http.common import Runtime
from sprechzimmer_protocol import layouts
from sprechzimmer_protocol.keys import DeviceKeys, password_keys
from sprechzimmer_protocol.primitives import sign

N_EVENTS = 2000
N_LOGINS = 100


SECRETS = Secrets(os.urandom(32), os.urandom(32), os.urandom(32))


def _settings(directory: Path, database_url: str | None, port: int = 8765) -> Settings:
    return Settings(data_dir=directory, database_url=database_url, keystore_url=database_url,
                    origins=(f"http://127.0.0.1:{port}",), secrets=SECRETS,
                    insecure_dev=True)  # measures speed; one database is enough here


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


class Ledger(OrgAggregate):
    """A stand-in organisation aggregate: every note is one event encrypted under the organisation's key."""

    TOPIC = "bench.Ledger"

    class Event(OrgAggregate.Event):
        TOPIC = "bench.Ledger.Event"

    class Created(Event, OrgAggregate.Created):
        TOPIC = "bench.Ledger.Created"

    class Noted(Event):
        TOPIC = "bench.Ledger.Noted"
        note: str

        def apply(self, aggregate: Ledger) -> None:
            aggregate.notes += 1

    def __init__(self, org_id: uuid.UUID):
        self.org_id = org_id
        self.notes = 0


def _append_events(container: Container) -> float:
    org_id = uuid.uuid4()
    container.services.keystore.create(org_id)
    ledger = Ledger._create(Ledger.Created, id=uuid.uuid4(), org_id=org_id)
    events = container.services.events
    events.save(ledger)
    started = time.perf_counter()
    for i in range(N_EVENTS):
        ledger.trigger_event(Ledger.Noted, note="x" * 150 + str(i))  # about the size of a real event payload
        events.save(ledger)
    return _rate(N_EVENTS, time.perf_counter() - started)


def _raw_inserts(settings: Settings) -> float:
    payload = os.urandom(200)
    if settings.database_url is None:
        path = settings.data_dir / "raw.sqlite"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, state BLOB)")
        started = time.perf_counter()
        for _ in range(N_EVENTS):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO raw (state) VALUES (?)", (payload,))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
        return _rate(N_EVENTS, elapsed)
    with psycopg.connect(settings.database_url, autocommit=True) as pg:
        pg.execute("CREATE TABLE raw_bench (id BIGSERIAL PRIMARY KEY, state BYTEA)")
        started = time.perf_counter()
        for _ in range(N_EVENTS):
            pg.execute("INSERT INTO raw_bench (state) VALUES (%s)", (payload,))
        elapsed = time.perf_counter() - started
        pg.execute("DROP TABLE raw_bench")
    return _rate(N_EVENTS, elapsed)


def _replay(container: Container) -> tuple[float, float]:
    events = container.services.events
    started = time.perf_counter()
    position, decoded = 0, 0
    while page := events.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False):
        for notification in page:
            events.mapper.to_domain_event(notification)
            decoded += 1
        position = page[-1].id
    replay = _rate(decoded, time.perf_counter() - started)
    started = time.perf_counter()
    position, selected = 0, 0
    while page := events.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False):
        selected += len(page)
        position = page[-1].id
    return replay, _rate(selected, time.perf_counter() - started)


def _login_vs_noop(settings: Settings) -> tuple[float, float, tuple[float, float, float]]:
    url = settings.origins[0]
    runtime = Runtime(lambda: build(settings), background=False)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1",
                                           port=int(url.rsplit(":", 1)[1]), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    throttle = access.START_LIMIT
    access.START_LIMIT = 100 * N_LOGINS  # one address sends every request here; the throttle is not measured
    try:
        store = LocalStore(settings.data_dir / "client")
        client = Client(url, store)
        form = {"plan": "basis",
                "organisation": {"name": "Bench", "kind": "Arztpraxis", "size": "1-5"},
                "address": {"street": "Weg", "number": "1", "postcode": "12345", "city": "Ort"},
                "main_user": {"salutation": "Frau", "first_name": "A", "last_name": "B", "email": "a@b.de",
                              "phone": "030 1234567"},
                "credentials": {"org_short": "bench", "user_short": "anna", "device_name": "PC"},
                "confirmations": {"avv_accepted": True, "credentials_noted": True}}
        password = "Bench-Passwort-1"
        client.register(form, password, password, "vier zufällige Wörter hier", "vier zufällige Wörter hier")
        device = store.device(url, "bench")
        assert device is not None
        keys = DeviceKeys.from_seed(bytes.fromhex(device.seed))
        salt = bytes.fromhex(client.http.post("/api/v1/auth/start", json={
            "org": "bench", "user": "anna", "device_id": device.device_id, "origin": url}).json()["salt"])
        pw = password_keys(password, salt)  # client work, done once
        login_times, noop_times = [], []
        for _ in range(N_LOGINS):
            started = time.perf_counter()
            start = client.http.post("/api/v1/auth/start", json={
                "org": "bench", "user": "anna", "device_id": device.device_id, "origin": url}).json()
            transcript = layouts.login("bench", "anna", device.device_id, bytes.fromhex(start["nonce"]), url)
            finish = client.http.post("/api/v1/auth/finish", json={
                "challenge_id": start["challenge_id"], "sig_pw": sign(pw.signing, transcript).hex(),
                "sig_dev": sign(keys.signing, transcript).hex()})
            assert finish.status_code == 200
            login_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.http.get("/healthz")
            client.http.get("/healthz")
            noop_times.append(time.perf_counter() - started)
        oracle = _known_vs_unknown(runtime.container, client, device.device_id, url)
        client.close()
        return statistics.median(login_times), statistics.median(noop_times), oracle
    finally:
        access.START_LIMIT = throttle
        server.should_exit = True
        thread.join(timeout=10)


def _known_vs_unknown(container: Container, client: Client, device_id: str, url: str) -> tuple[float, float, float]:
    """Medians of /auth/start for the known and an unknown organisation, and the larger of the two IQRs."""
    services = container.services
    organisation = services.events.organisation_by_short_name("bench")
    assert organisation is not None
    for _ in range(100):  # a practice in use: its Stammdaten edited now and then
        organisation.change_profile(organisation.profile["organisation"], organisation.profile["address"],
                                    organisation.profile["main_user"], "anna")
    services.save(organisation)
    times: dict[str, list[float]] = {"bench": [], "niemand": []}
    for _ in range(2 * N_LOGINS):
        for org in times:  # interleaved: load from elsewhere hits both paths alike
            started = time.perf_counter()
            client.http.post("/api/v1/auth/start", json={"org": org, "user": "anna", "device_id": device_id,
                                                         "origin": url}).raise_for_status()
            times[org].append(time.perf_counter() - started)
    quartiles = {org: statistics.quantiles(values, n=4) for org, values in times.items()}
    spread = max(q[2] - q[0] for q in quartiles.values())
    return quartiles["bench"][1], quartiles["niemand"][1], spread


def run(label: str, database_url: str | None) -> None:
    directory = Path(tempfile.mkdtemp(prefix="sz-bench-"))
    try:
        settings = _settings(directory, database_url)
        container = build(settings)
        raw = _raw_inserts(settings)
        appended = _append_events(container)
        replay, select = _replay(container)
        container.close()
        print(f"[{label}] appends: {appended:,.0f} events/s through the application vs {raw:,.0f} raw inserts/s "
              f"-> ratio {appended / raw:.2f}")
        print(f"[{label}] replay: {replay:,.0f} events/s decoded vs {select:,.0f} rows/s raw select "
              f"-> ratio {replay / select:.2f}")
        login, noop, (known, unknown, spread) = _login_vs_noop(_settings(directory / "login", database_url))
        print(f"[{label}] login (start+finish): {login * 1000:.2f} ms vs two no-op requests {noop * 1000:.2f} ms "
              f"-> ratio {login / noop:.2f}")
        verdict = "✓" if abs(known - unknown) < spread else "✗"
        print(f"[{label}] login start, known vs unknown organisation: median {known * 1000:.2f} vs "
              f"{unknown * 1000:.2f} ms, difference {abs(known - unknown) * 1000:.2f} ms vs same-path spread (IQR) "
              f"{spread * 1000:.2f} ms (goal: smaller) {verdict}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _fresh_postgres(url: str) -> tuple[str, str]:
    name = f"sz_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}", name


def cli() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    run("sqlite", None)
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        database, name = _fresh_postgres(url)
        try:
            run("postgres", database)
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
