"""The issue-13 table: what users pay, each figure against a floor measured in the same run on the same
database (ratio), with the absolute figures beside, the goal and ✓/✗.

- appends: single-event saves through `Services.save` (encryption and the read-model catch-up every real save
  pays) vs raw single-row INSERT transactions; 20 rounds, floors alternating with measured runs;
- replay + decode: the whole log decoded as an auditor does, in events/s, vs a raw SELECT of the same rows;
- rebuild: every read model rebuilt from zero over the same log, in events/s;
- erasure: one practice's events erased (use case `application.erasure.erase`) in a store of
  BENCH_STORE_EVENTS vs the same in a store holding only the practice; data generated through the
  application layer (aggregates saved with `Services.save`);
- login: /auth/start + /auth/finish vs two no-op requests (/healthz) on the same server, 100 alternating pairs
  (the client's Argon2 is done once beforehand: it is client work, not server time);
- billing run: 1,000 plus practices registered through the registration use case, then the month's run
  (bench/billing.py; BENCH_BILLING_SIZES=1000,10000 adds the issue's 10,000).

PostgreSQL runs too when BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server. The issue's sizes are
BENCH_STORE_EVENTS=125000 BENCH_PRACTICE_EVENTS=10000; the defaults keep `make bench` to a few minutes."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import uvicorn

from application import access, erasure
from bench import billing as billing_bench
from domain.base import OrgAggregate
from domain.usage import SMS, UsageRecord
from infrastructure.settings import Secrets, Settings
from interfaces.bootstrap import Container, build
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from interfaces.http.app import create_app
from interfaces.http.common import Runtime
from sprechzimmer_protocol import layouts
from sprechzimmer_protocol.keys import DeviceKeys, password_keys
from sprechzimmer_protocol.primitives import sign

N_ROUNDS, PER_ROUND = 20, 50  # appends: 20 samples of 50 saves each, alternating with the floor
N_LOGINS = 100
STORE_EVENTS = int(os.environ.get("BENCH_STORE_EVENTS", "40000"))
PRACTICE_EVENTS = int(os.environ.get("BENCH_PRACTICE_EVENTS", "4000"))
PER_SAVE = 200  # generated events per save


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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class _RawInserts:
    """The floor of appends: single-row INSERT transactions into the same database."""

    def __init__(self, settings: Settings):
        self.payload = os.urandom(200)
        self.sqlite: sqlite3.Connection | None = None
        self.pg: psycopg.Connection | None = None
        if settings.database_url is None:
            self.sqlite = sqlite3.connect(settings.data_dir / "raw.sqlite", isolation_level=None)
            self.sqlite.execute("PRAGMA journal_mode=WAL")
            self.sqlite.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, state BLOB)")
        else:
            self.pg = psycopg.connect(settings.database_url, autocommit=True)
            self.pg.execute("CREATE TABLE raw_bench (id BIGSERIAL PRIMARY KEY, state BYTEA)")

    def rate(self, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            if self.sqlite is not None:
                self.sqlite.execute("BEGIN")
                self.sqlite.execute("INSERT INTO raw (state) VALUES (?)", (self.payload,))
                self.sqlite.execute("COMMIT")
            else:
                assert self.pg is not None
                self.pg.execute("INSERT INTO raw_bench (state) VALUES (%s)", (self.payload,))
        return _rate(n, time.perf_counter() - started)

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            self.pg.execute("DROP TABLE raw_bench")
            self.pg.close()


def _ledger(container: Container) -> Ledger:
    org_id = uuid.uuid4()
    container.services.keystore.create(org_id)
    ledger = Ledger._create(Ledger.Created, id=uuid.uuid4(), org_id=org_id)
    container.services.save(ledger)
    return ledger


def _appends(container: Container, settings: Settings) -> tuple[list[float], list[float]]:
    """(use-case rates, raw rates), one of each per round."""
    ledger = _ledger(container)
    raw = _RawInserts(settings)
    app_rates, raw_rates = [], []
    try:
        for _ in range(N_ROUNDS):
            raw_rates.append(raw.rate(PER_ROUND))
            started = time.perf_counter()
            for i in range(PER_ROUND):
                ledger.trigger_event(Ledger.Noted, note="x" * 150 + str(i))  # about a real event's payload
                container.services.save(ledger)
            app_rates.append(_rate(PER_ROUND, time.perf_counter() - started))
    finally:
        raw.close()
    return app_rates, raw_rates


def _generate(container: Container, events: int, org_id: uuid.UUID | None = None) -> uuid.UUID:
    """`events` events of one organisation through the application layer: half ledger notes, half usage
    records (which a read model applies)."""
    services = container.services
    if org_id is None:
        org_id = uuid.uuid4()
        services.keystore.create(org_id)
    ledger = Ledger._create(Ledger.Created, id=uuid.uuid4(), org_id=org_id)
    done = 1
    while done < events:
        n = min(PER_SAVE, events - done)
        for i in range(n // 2):
            ledger.trigger_event(Ledger.Noted, note="x" * 150 + str(i))
        usage = [UsageRecord.record(org_id, SMS, "2026-11") for _ in range(n - n // 2)]
        services.save(ledger, *usage)
        done += n
    return org_id


def _replay_rates(container: Container) -> tuple[float, float]:
    """(decoded events/s, raw rows/s) over the whole log."""
    events = container.services.events
    started = time.perf_counter()
    position, decoded = 0, 0
    while page := events.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False):
        for notification in page:
            events.mapper.to_domain_event(notification)  # an erased practice's events are gone with it
            decoded += 1
        position = page[-1].id
    replay = _rate(decoded, time.perf_counter() - started)
    started = time.perf_counter()
    position, selected = 0, 0
    while page := events.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False):
        selected += len(page)
        position = page[-1].id
    return replay, _rate(selected, time.perf_counter() - started)


def _erase(container: Container, org_id: uuid.UUID) -> float:
    started = time.perf_counter()
    plan = erasure.erase(container.services, org_id, date(2026, 11, 30))
    assert plan.status == "erased", plan.status
    return time.perf_counter() - started


def _login_vs_noop(settings: Settings) -> tuple[list[float], list[float], tuple[float, float, float]]:
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
        return login_times, noop_times, oracle
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


class Table:
    def __init__(self, label: str):
        self.label = label

    def row(self, figure: str, ratio: float | None, measured: str, goal: str, ok: bool | None) -> None:
        mark = {True: "✓", False: "✗", None: "–"}[ok]
        shown = f"{ratio:7.2f}" if ratio is not None else "      –"
        print(f"[{self.label}] {figure:<38} ratio {shown}  {measured:<58} goal {goal:<16} {mark}", flush=True)


def run(label: str, database_url: str | None) -> None:
    directory = Path(tempfile.mkdtemp(prefix="sz-bench-"))
    table = Table(label)
    try:
        settings = _settings(directory, database_url)
        container = build(settings)
        try:
            app, raw = _appends(container, settings)
            ratios = [a / r for a, r in zip(app, raw, strict=True)]
            goal = 0.5 if database_url is None else 0.35
            table.row("append through the use case vs raw", statistics.median(ratios),
                      f"{statistics.median(app):,.0f} vs {statistics.median(raw):,.0f} ev/s (median of {N_ROUNDS})",
                      f"≥ {goal}", statistics.median(ratios) >= goal)

            small = _generate(container, PRACTICE_EVENTS)  # erasure in a store holding little else: the floor
            floor = _erase(container, small)
            started = time.perf_counter()
            _generate(container, STORE_EVENTS - PRACTICE_EVENTS)
            practice = _generate(container, PRACTICE_EVENTS)
            generated = time.perf_counter() - started
            size = container.services.events.position()
            print(f"[{label}] (generated {STORE_EVENTS:,} events through the application in {generated:.0f} s)")

            replays = [_replay_rates(container) for _ in range(3)]
            decode, select = statistics.median(r[0] for r in replays), statistics.median(r[1] for r in replays)
            table.row("replay + decode", decode / select,
                      f"{decode:,.0f} ev/s vs raw select {select:,.0f} rows/s", "≥ 100,000 ev/s", decode >= 100_000)

            started = time.perf_counter()
            container.projections.rebuild()
            rebuild = _rate(size, time.perf_counter() - started)
            table.row(f"read-model rebuild of {size:,} events", rebuild / select,
                      f"{rebuild:,.0f} ev/s vs raw select {select:,.0f} rows/s", "–", None)

            erased = _erase(container, practice)
            table.row(f"erasure of {PRACTICE_EVENTS:,} in a store of {size:,}", erased / floor,
                      f"{erased:.2f} s vs {floor:.2f} s in a store of {PRACTICE_EVENTS:,}", "≤ 2 s", erased <= 2.0)
        finally:
            container.close()
        login, noop, (known, unknown, spread) = _login_vs_noop(_settings(directory / "login", database_url))
        ratio = statistics.median(login) / statistics.median(noop)
        table.row("login (start + finish) vs two no-ops", ratio,
                  f"median {statistics.median(login) * 1000:.1f} vs {statistics.median(noop) * 1000:.1f} ms, "
                  f"p95 {_percentile(login, 0.95) * 1000:.1f} ms (n={len(login)})", "≤ 3×", ratio <= 3)
        table.row("login start, known vs unknown organisation", abs(known - unknown) / spread,
                  f"median {known * 1000:.2f} vs {unknown * 1000:.2f} ms, "
                  f"same-path spread (IQR) {spread * 1000:.2f} ms",
                  "< 1 (no oracle)", abs(known - unknown) < spread)
        billing_bench.rows(table, _settings(directory / "billing", database_url), billing_bench.sizes())
        table.row("200 concurrent clients, 60 s, mixed", None, "measured by `python -m bench load`",
                  "0 err, p99 ≤ 1 s", None)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def fresh_postgres(url: str) -> Iterator[str]:
    """A throwaway database on the server of `url`, dropped afterwards: benches never touch existing data."""
    name = f"sz_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cli() -> None:
    for noisy in ("httpx", "sprechzimmer.erasure"):  # the table, not every request and erasure
        logging.getLogger(noisy).setLevel(logging.WARNING)
    run("sqlite", None)
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        with fresh_postgres(url) as database:
            run("postgres", database)
