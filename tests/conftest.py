"""Shared fixtures: backends (SQLite file, PostgreSQL database per test), a real HTTP server per test,
SDK clients with their own local key storage, and the seed's example organisation."""

from __future__ import annotations

import copy
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from infrastructure.settings import Secrets, Settings, audit_seed, retention_seed
from interfaces.bootstrap import Container, build
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from interfaces.http.app import create_app
from interfaces.http.common import Runtime

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# SDK installs of the tests (and the CLI processes they start) wrap their device seeds under a passphrase, never
# in the developer's real OS keyring; the password-wrapped variant has its own test.
os.environ["SPRECHZIMMER_DEVICE_PASSPHRASE"] = "Testgeräte-Passphrase"
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
BACKENDS = ["sqlite", "postgres"]
OPERATOR_TOKEN = "test-operator-token"  # the status page's details (SPRECHZIMMER_OPERATOR_TOKEN)
TEST_ORIGIN = "http://sprechzimmer.test"  # also accepted by test servers, so bodies can be prepared once


@pytest.fixture(scope="session")
def vectors() -> dict:
    """crypto-v1.json without its join tokens, which v1.1 supersedes (design/crypto.md §8a.4). Its SDP MAC
    example stays valid as a MAC under a given k_call: it moves to `sdp_mac_example`, with that key."""
    v1 = json.loads((SHARED / "vectors" / "crypto-v1.json").read_text())
    superseded = v1.pop("join_tokens")
    v1["sdp_mac_example"] = {**superseded["sdp_mac_example"],
                             "k_call": superseded["codes"][0]["k_call_if_patient_code"]}
    return v1


@pytest.fixture(scope="session")
def vectors_v11() -> dict:
    return json.loads((SHARED / "vectors" / "crypto-v1.1.json").read_text())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """With REQUIRE_POSTGRES (CI), a skipped PostgreSQL test is a failure: the production store must be tested."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and os.environ.get("REQUIRE_POSTGRES") and "postgres" in item.name:
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL test skipped although REQUIRE_POSTGRES is set: {item.nodeid}"


def fresh_postgres_database() -> Iterator[str]:
    """A fresh database on the server of TEST_DATABASE_URL, dropped afterwards."""
    if not TEST_DATABASE_URL:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")
        pytest.skip("TEST_DATABASE_URL not set")
    name = f"sz_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = TEST_DATABASE_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database per test (events, read models, state)."""
    yield from fresh_postgres_database()


@pytest.fixture
def keystore_url() -> Iterator[str]:
    """PostgreSQL mode keeps the shredding keys in a database of their own (refused otherwise)."""
    yield from fresh_postgres_database()


# The operator's identity in tests: valid, and not the test defaults that PostgreSQL mode refuses.
OPERATOR = {"creditor_id": "DE29ZZZ00001983485", "creditor_iban": "DE02120300000000202051",
            "seller_vat_id": "DE123456789"}


class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
        self.real = True

    def __call__(self) -> datetime:
        return datetime.now(UTC) if self.real else self.now

    def set(self, when: datetime) -> None:
        self.real, self.now = False, when

    def advance(self, **delta: float) -> None:
        if self.real:
            self.set(datetime.now(UTC))
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MailBox:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)


@pytest.fixture
def mailbox() -> Iterator[MailBox]:
    box = MailBox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest, mailbox: MailBox) -> Settings:
    postgres = backend == "postgres"
    port = free_port()
    return Settings(
        data_dir=tmp_path / "var", database_url=request.getfixturevalue("postgres_url") if postgres else None,
        keystore_url=request.getfixturevalue("keystore_url") if postgres else None,
        origins=(f"http://127.0.0.1:{port}", TEST_ORIGIN),
        secrets=Secrets(os.urandom(32), os.urandom(32), os.urandom(32)),
        smtp_host="127.0.0.1", smtp_port=mailbox.port, creditor_id=OPERATOR["creditor_id"],
        creditor_iban=OPERATOR["creditor_iban"], seller_vat_id=OPERATOR["seller_vat_id"],
        operator_token=OPERATOR_TOKEN,
    )


def server_env(settings: Settings) -> dict[str, str]:
    """The environment under which a subprocess (CLI, `serve`, `worker`) sees the same store, keys and mail server
    as the test's settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KEYSTORE_URL")}
    env.update({"SPRECHZIMMER_DATA_DIR": str(settings.data_dir), "SPRECHZIMMER_KEK": settings.secrets.kek.hex(),
                "SPRECHZIMMER_PEPPER": settings.secrets.pepper_code.hex(),
                "SPRECHZIMMER_FAKE_SALT_KEY": settings.secrets.fake_salt_key.hex(),
                "SPRECHZIMMER_AUDIT_KEY": audit_seed(settings.secrets).hex(),
                "SPRECHZIMMER_RETENTION_KEY": retention_seed(settings.secrets).hex(),
                "SMTP_HOST": settings.smtp_host, "SMTP_PORT": str(settings.smtp_port),
                "SPRECHZIMMER_ORIGINS": ",".join(settings.origins)})
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    if settings.keystore_url:
        env["KEYSTORE_URL"] = settings.keystore_url
    env.update({"SEPA_CREDITOR_ID": settings.creditor_id, "SEPA_CREDITOR_IBAN": settings.creditor_iban,
                "SELLER_VAT_ID": settings.seller_vat_id})
    return env


class LiveServer:
    def __init__(self, settings: Settings, clock: Clock):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.url = settings.origins[0]
        port = int(self.url.rsplit(":", 1)[1])
        self.runtime = Runtime(lambda: build(settings, clock=clock), background=False)
        self.app = create_app(runtime=self.runtime)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, lifespan="on",
                                                    log_level="warning", ws="websockets-sansio",
                                                    forwarded_allow_ips=list(settings.trusted_proxies)))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def container(self) -> Container:
        return self.runtime.container


def operator_status(server: LiveServer) -> dict[str, Any]:
    """The status page as the operator sees it."""
    answer = httpx.get(server.url + "/api/v1/status", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


@pytest.fixture
def server(settings: Settings, clock: Clock) -> Iterator[LiveServer]:
    with LiveServer(settings, clock) as live:
        yield live


@pytest.fixture
def new_client(server: LiveServer, tmp_path: Path) -> Iterator[Callable[[str], Client]]:
    """A separate SDK install per name: its own device seeds and session."""
    clients: list[Client] = []

    def make(name: str = "device-a") -> Client:
        client = Client(server.url, LocalStore(tmp_path / "clients" / name))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def seed_form() -> dict[str, Any]:
    return json.loads((FIXTURES / "praxis_winkler.json").read_text())


def split_form(form: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    form = copy.deepcopy(form)
    secrets = [form.pop(k) for k in ("password", "password_repeat", "master_password", "master_password_repeat")]
    return form, secrets


def register(client: Client, **changes: Any) -> dict[str, Any]:
    form, secrets = split_form(seed_form())
    for dotted, value in changes.items():
        section, _, field = dotted.partition("__")
        if field:
            form[section][field] = value
        else:
            form[section] = value
    return client.register(form, *secrets)


PASSWORD = seed_form()["password"]
MASTER_PASSWORD = seed_form()["master_password"]

