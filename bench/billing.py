"""The billing run at scale (issue 13): N plus practices registered through the registration use case, some
SMS usage each, then `application.billing.run` for the month — invoices, numbers, the pain.008 file and the
pre-notifications — timed as a user (the monthly job) pays it.

The practices come through `application.registration.register` with bodies built as the SDK builds them
(every signature real, checked by the server), only the clients' Argon2 is done once and its keys reused:
that is client work, and the server never sees it. `python -m bench billing` runs it alone, for the sizes in
BENCH_BILLING_SIZES (default "1000"; the issue's second goal: "1000,10000"); BENCH_BILLING_MAILS=0 leaves the
pre-notification mails out (they are timed apart, and take ~0.1 s each: a Factur-X PDF per invoice)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from application import billing, registration
from domain.usage import SMS, UsageRecord
from infrastructure.settings import Settings
from interfaces.bootstrap import Container, build
from interfaces.http import schemas
from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import primitives as p
from sprechzimmer_protocol.keyring import Keyring
from sprechzimmer_protocol.keys import DeviceKeys, master_keys, password_keys
from sprechzimmer_protocol.policy import MASTER_MEM, MASTER_OPS, PASSWORD_MEM, PASSWORD_OPS, SALT_BYTES
from sprechzimmer_protocol.values import DeviceCertificate, MasterKeyParams, PasswordVerifier, UserCertificate

REGISTERED_ON = date(2026, 10, 20)
MONTH = "2026-11"
BILLED_AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 03:00 in Berlin, the monthly job's first chance
BANK = {"account_holder": "Dr. med. Martin Winkler", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
        "sepa_mandate": True}


class _ClientKeys:
    """What a client derives from the passwords (Argon2), once for all generated practices."""

    def __init__(self) -> None:
        self.pw_salt, self.mp_salt = p.random_bytes(SALT_BYTES), p.random_bytes(SALT_BYTES)
        self.pw = password_keys("Bench#Praxis2024", self.pw_salt)
        self.mp = master_keys("Bench Ärztehaus: Schlüssel 7!", self.mp_salt)


def _body(i: int, keys: _ClientKeys, origin: str) -> dict[str, Any]:
    """The registration request of practice `i`, as interfaces.client.sdk.Client.register builds it."""
    org_short, user_short, device_name = f"Bench{i:05d}", "MartinW", "Laptop"
    org_id = str(uuid.uuid4())
    keyring = Keyring.new(org_id)
    device = DeviceKeys.from_seed(p.random_bytes(32))
    device_id = "dev-" + p.random_bytes(8).hex()
    approved_at = REGISTERED_ON.isoformat() + "T09:00:00+00:00"
    user_cert = UserCertificate(org_id, user_short.lower(), "admin",
                                PasswordVerifier(keys.pw_salt, PASSWORD_OPS, PASSWORD_MEM, keys.pw.pk)).signed(keyring)
    master = MasterKeyParams(keys.mp_salt, MASTER_OPS, MASTER_MEM, keys.mp.sign_pk, keys.mp.box_pk,
                             keys.mp.anchor(org_id, keyring.sign_pk)).certified(keyring)
    device_cert = DeviceCertificate(org_id, device_id, device_name, device.sign_pk, device.box_pk, approved_at,
                                    "registration").signed(keyring)
    transcript = t.registration(org_short, org_id, user_short, device_id, origin)
    return {
        "plan": "plus",
        "organisation": {"name": f"Praxis Bench {i}", "kind": "Arztpraxis", "size": "1-5", "specialty": None,
                         "bsnr": None, "lanr": None},
        "address": {"street": "Musterstraße", "number": str(i % 200 + 1), "addition": None, "postcode": "12345",
                    "city": "Musterhausen"},
        "main_user": {"salutation": "Herr", "title": None, "first_name": "Martin", "last_name": "Winkler",
                      "email": f"praxis{i}@bench.invalid", "phone": "01234 5678 910"},
        "credentials": {"org_short": org_short, "user_short": user_short, "device_name": device_name},
        "confirmations": {"avv_accepted": True, "credentials_noted": True},
        "billing": BANK,
        "crypto": {
            "org_id": org_id, "origin": origin,
            "org_sign_pk": keyring.sign_pk.hex(), "org_box_pk": keyring.box_pk.hex(),
            "user": {**user_cert.verifier.to_wire(), "cert": user_cert.sig.hex()},
            "master": {**master.to_wire(), "grant": keyring.grant("mp", keys.mp.box_pk).to_wire()},
            "device": {"device_id": device_id, "sign_pk": device.sign_pk.hex(), "box_pk": device.box_pk.hex(),
                       "cert": device_cert.sig.hex(), "approved_at": approved_at,
                       "grant": keyring.grant(device_id, device.box_pk).to_wire()},
            "signatures": {"org": p.sign(keyring.signing, transcript).hex(),
                           "master": p.sign(keys.mp.signing, transcript).hex(),
                           "password": p.sign(keys.pw.signing, transcript).hex(),
                           "device": p.sign(device.signing, transcript).hex()},
        },
    }


def generate(container: Container, n: int, first: int = 0) -> float:
    """Registers practices `first` … `first + n - 1` on plus (each from its own network: the registration
    throttle is not what is measured) with 0–4 SMS in the billed month; returns the seconds it took."""
    services = container.services
    keys = _ClientKeys()
    origin = services.origins[0]
    started = time.perf_counter()
    usage: list[UsageRecord] = []
    for i in range(first, first + n):
        data = schemas.RegistrationSchema().load(_body(i, keys, origin))
        done = registration.register(services, data, today=REGISTERED_ON, ip=f"10.{i // 250 % 250}.{i % 250}.7")
        usage += [UsageRecord.record(done.org_id, SMS, MONTH) for _ in range(i % 5)]
        if len(usage) >= 200:
            services.save(*usage)
            usage = []
    if usage:
        services.save(*usage)
    return time.perf_counter() - started


class _SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that counts what it receives: the pre-notifications are sent
    as in production, not refused by a missing server."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received = 0
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


@dataclass(frozen=True)
class Billed:
    seconds: float  # the whole run
    prenotify: float  # of which the pre-notification mails (Factur-X PDF each)
    invoices: int


def bill(container: Container) -> Billed:
    """The month's billing run as the monthly job starts it, with the pre-notification part timed apart."""
    services = container.services
    clock, prenotify = services.clock, billing.prenotify
    mailing = [0.0]

    def timed_prenotify(*args: Any) -> int:
        if os.environ.get("BENCH_BILLING_MAILS") == "0":  # a 10,000 run without its ~15 min of PDFs
            return 0
        started = time.perf_counter()
        try:
            return prenotify(*args)
        finally:
            mailing[0] += time.perf_counter() - started

    services.clock = lambda: BILLED_AT
    billing.prenotify = timed_prenotify  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        result = billing.run(services, MONTH)
        seconds = time.perf_counter() - started
    finally:
        services.clock, billing.prenotify = clock, prenotify
    assert not result.already_done and result.sepa_path is not None
    return Billed(seconds, mailing[0], len(result.invoices))


def settings_with_smtp(settings: Settings, sink: _SmtpSink) -> Settings:
    return dataclasses.replace(settings, smtp_port=sink.port)


def measure(settings: Settings, n: int) -> tuple[Billed, float]:
    """(the run, seconds the generation took) for `n` practices in a fresh store under `settings`."""
    sink = _SmtpSink()
    sink.controller.start()
    container = build(settings_with_smtp(settings, sink))
    try:
        generated = generate(container, n)
        billed = bill(container)
        assert billed.invoices == n, billed
    finally:
        container.close()
        sink.controller.stop()
    return billed, generated


def rows(table: Any, settings: Settings, sizes: list[int]) -> None:
    """The table rows of issue 13 for each size, each in a fresh store (a fresh database on PostgreSQL): the
    run without the mails against its goal (1 s per 100 practices), and the pre-notification mails apart (a
    Factur-X PDF rendered per invoice)."""
    from bench.foundation import fresh_postgres

    for n in sizes:
        sized = dataclasses.replace(settings, data_dir=settings.data_dir / f"billing-{n}")
        with contextlib.ExitStack() as stack:
            if settings.database_url:
                database = stack.enter_context(fresh_postgres(settings.database_url))
                sized = dataclasses.replace(sized, database_url=database, keystore_url=database)
            billed, generated = measure(sized, n)
        run = billed.seconds - billed.prenotify
        goal = n / 100
        table.row(f"billing run, {n:,} plus practices (incl. pain.008)", None,
                  f"{run:.1f} s ({run / n * 1000:.1f} ms per invoice; generated in {generated:.0f} s)",
                  f"≤ {goal:,.0f} s", run <= goal)
        if os.environ.get("BENCH_BILLING_MAILS") == "0":
            continue
        table.row(f"  + pre-notification mails with PDF, {n:,}", None,
                  f"{billed.prenotify:.1f} s ({billed.prenotify / n * 1000:.0f} ms per mail); "
                  f"whole run {billed.seconds:.1f} s", "–", None)


def sizes() -> list[int]:
    """BENCH_BILLING_SIZES, default "1000"; the issue's second goal: BENCH_BILLING_SIZES=1000,10000."""
    return [int(n) for n in os.environ.get("BENCH_BILLING_SIZES", "1000").split(",")]


def cli() -> None:
    """`python -m bench billing`: the rows alone, on SQLite and (BENCH_DATABASE_URL) PostgreSQL."""
    from bench.foundation import Table, _settings

    directory = Path(tempfile.mkdtemp(prefix="sz-bench-billing-"))
    try:
        rows(Table("sqlite"), _settings(directory / "sqlite", None), sizes())
        url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        if url:
            rows(Table("postgres"), _settings(directory / "postgres", url), sizes())
    finally:
        shutil.rmtree(directory, ignore_errors=True)
