"""Scheduled erasure at the contract's end: nothing of the practice is left in any table or database file but the
sealed retention archive (tests/contract/test_retention_archive.py),
old copies of its events cannot be decrypted, its short name is free again, the audit replay still runs, and
an erasure interrupted anywhere (injected fault, real kill -9 of the worker) completes on the next run."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from application import erasure
from domain.erasure import ErasureReceipt
from domain.usage import SMS, UsageRecord
from infrastructure.event_cipher import MAGIC, EventKeyDestroyed
from infrastructure.settings import Settings
from interfaces.bootstrap import build
from interfaces.client import contract
from interfaces.client.sdk import ApiError, Client
from tests.conftest import (
    PASSWORD,
    ROOT,
    Clock,
    LiveServer,
    MailBox,
    free_port,
    fresh_postgres_database,
    register,
    server_env,
)
from tests.contract.helpers import BANK, at, practice

REGISTRATION_DATA = ["PWinkler", "Praxis Winkler", "m.winkler@mail.de", "Musterhausen", "MartinW", "Laptop Martin",
                     "01234 5678 910", "DE89370400440532013000", "Dr. med. Martin Winkler", "COBADEFFXXX"]


def raw_events(settings: Settings, org_id: UUID) -> list[StoredEvent]:
    """A restored backup, as an attacker would read it: a raw SELECT, no library involved."""
    prefix = MAGIC + org_id.bytes
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            rows = conn.execute("SELECT originator_id, originator_version, topic, state FROM sprechzimmer_events")
            found = [(UUID(str(r[0])), r[1], r[2], bytes(r[3])) for r in rows]
    else:
        with sqlite3.connect(settings.data_dir / "events.sqlite") as conn:
            rows = conn.execute("SELECT originator_id, originator_version, topic, state FROM stored_events")
            found = [(UUID(r[0]), r[1], r[2], bytes(r[3])) for r in rows]
    return [StoredEvent(originator_id=o, originator_version=v, topic=t, state=s)
            for o, v, t, s in found if s.startswith(prefix)]


def traces(settings: Settings, org_id: UUID) -> list[str]:
    """Every registration datum and every form of the organisation id still found anywhere in storage."""
    needles = [*REGISTRATION_DATA, str(org_id), org_id.hex]
    if settings.database_url:
        found = []
        with psycopg.connect(settings.database_url) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
            for table in tables:
                text = "\n".join(r[0] for r in conn.execute(f'SELECT t::text FROM "{table}" t')).lower()
                for needle in [*needles, MAGIC + org_id.bytes]:
                    forms = [needle.hex()] if isinstance(needle, bytes) else [needle.lower(),
                                                                              needle.encode().hex()]
                    found += [f"{table}: {needle!r}" for form in forms if form in text]
        return found
    found = []
    for path in sorted(settings.data_dir.glob("*.sqlite*")):
        raw = path.read_bytes()
        lowered = raw.lower()
        found += [f"{path.name}: {n}" for n in needles if n.lower().encode() in lowered]
        found += [f"{path.name}: org id bytes" for n in [org_id.bytes] if n in raw]
    return found


def cancelled_practice(new_client: Callable[[str], Client], clock: Clock, server: LiveServer,
                       **changes: Any) -> tuple[Client, UUID]:
    client, result = practice(new_client, clock, date(2020, 12, 1), **changes)
    org_id = UUID(result["org_id"])
    at(clock, date(2020, 12, 28))
    client.login("PWinkler", "MartinW", PASSWORD)
    assert contract.cancel(client, True)["ends_on"] == "2021-03-31"
    # A login started and never finished leaves a challenge naming the organisation in clear text.
    client.request("POST", "/api/v1/auth/start",
                   {"org": "PWinkler", "user": "MartinW", "device_id": "x", "origin": client.origin})
    return client, org_id


def assert_erased(server: LiveServer, org_id: UUID, mailbox: MailBox, mails: int = 1) -> dict[str, Any]:
    services = server.container.services
    settings = server.container.settings
    assert not services.keystore.exists(org_id)
    assert services.contracts.purger.count_events(org_id) == 0
    assert traces(settings, org_id) == []
    # What stays is the retention archive (invoices, mandate evidence), sealed and filed under the receipt's hash;
    # SEPA files are sealed too until the job removes them after their collection date (issue 15.2).
    archived = services.contracts.archive.entries()
    assert {receipt for _, _, receipt, _, _ in archived} <= {erasure.org_hash(services, org_id)}
    for path in (settings.data_dir / "billing").rglob("*") if (settings.data_dir / "billing").exists() else ():
        assert not path.is_file() or not any(n.encode() in path.read_bytes() for n in REGISTRATION_DATA), path
    receipt = services.events.get(ErasureReceipt.id_for(erasure.org_hash(services, org_id)))
    assert receipt is not None and receipt.completed_at is not None
    assert receipt.contract_ended_on == "2021-03-31" and receipt.deleted["key_destroyed"] is True
    assert erasure.run_due(services) == []  # nothing left to do
    deletion_mails = [m for m in mailbox.messages if m["Subject"] == "Bestätigung der Löschung Ihrer Daten"]
    assert len(deletion_mails) == mails and deletion_mails[0]["To"] == "m.winkler@mail.de"
    return {"receipt": receipt}


def test_erasure_leaves_nothing_and_old_copies_stay_unreadable(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client],
        monkeypatch: pytest.MonkeyPatch) -> None:
    client, org_id = cancelled_practice(new_client, clock, server, plan="plus", billing=BANK)
    services = server.container.services
    settings = server.container.settings
    services.save(*[UsageRecord.record(org_id, SMS, "2021-03") for _ in range(2)])
    calls = server.container.calls
    assert calls is not None  # call-log metadata of the practice must go with it
    calls.call_log.record(str(org_id), str(uuid.uuid4()), "peer-1", "patient", "joined", clock().timestamp(),
                          "127.0.0.1")

    backup = raw_events(settings, org_id)
    assert len(backup) >= 6 and services.events.mapper.to_domain_event(backup[0]) is not None
    assert traces(settings, org_id) != []  # the scan finds the organisation while it exists

    at(clock, date(2021, 4, 1), hour=2)
    # Due, but the last plus month is not invoiced yet: its mandate is still needed, so the erasure waits.
    assert [plan.status for plan in erasure.run_due(services, dry_run=True)] == ["waiting for final invoice"]
    done = server.container.scheduler.run_all_once()
    assert done["billing"] == 1 and done["erasure"] == 1  # the last plus month is billed first
    subjects = [m["Subject"] for m in mailbox.wait_for(3)]
    assert subjects[-1] == "Bestätigung der Löschung Ihrer Daten"

    receipt = assert_erased(server, org_id, mailbox)["receipt"]
    assert receipt.events_to_delete == receipt.deleted["events"] == len(backup) + 1  # + March's invoice
    assert receipt.deleted["read_models"]["organisations"] == 1
    payload = json.dumps(vars(receipt), default=str)
    assert str(org_id) not in payload and org_id.hex not in payload and "Winkler" not in payload

    for stored in backup:  # a restored backup is ciphertext under a key that no longer exists
        with pytest.raises(EventKeyDestroyed):
            services.events.mapper.to_domain_event(stored)

    with pytest.raises(ApiError) as err:
        client.login("PWinkler", "MartinW", PASSWORD)
    assert err.value.status == 401

    position = services.events.position()
    again = register(new_client("new-practice"))  # the short name is free again
    assert again["org_short"] == "PWinkler" and UUID(again["org_id"]) != org_id
    # Positions are never handed out twice (the receipt holds the highest one), so every read model sees the
    # new practice.
    assert services.events.position() > position
    assert services.contracts.directory.organisations() == [UUID(again["org_id"])]
    new_session = new_client("new-practice")
    new_session.login("PWinkler", "MartinW", PASSWORD)
    assert contract.show(new_session)["plan"] == "basis" and contract.show(new_session)["ends_on"] is None

    from interfaces.audit import replay

    for key, value in server_env(settings).items():
        monkeypatch.setenv(key, value)
    if not settings.database_url:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    out = io.StringIO()
    assert replay(out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[-1]["position"] == services.events.position()
    assert not any(line["organisation"] == str(org_id) for line in lines)
    types = [line["type"] for line in lines]
    assert "sprechzimmer.ErasureReceipt.Started" in types and "sprechzimmer.ErasureReceipt.Completed" in types


@pytest.mark.parametrize("crash_after", ["mail", "receipt-started", "key", "events", "read-models",
                                         "receipt-completed"])
def test_an_interrupted_erasure_completes_on_the_next_run(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client],
        crash_after: str) -> None:
    _, org_id = cancelled_practice(new_client, clock, server)
    services = server.container.services
    at(clock, date(2021, 4, 1), hour=2)

    def crash(step: str) -> None:
        if step == crash_after:
            raise RuntimeError(f"crash after {step}")

    with pytest.raises(RuntimeError):
        erasure.run_due(services, fault=crash)
    assert [org for org, _ in services.contracts.directory.due_for_erasure(date(2021, 4, 1))] == [org_id]

    assert server.container.scheduler.run_all_once()["erasure"] == 1
    receipt = services.events.get(ErasureReceipt.id_for(erasure.org_hash(services, org_id)))
    assert receipt.events_to_delete >= 5  # the receipt still tells how much went, whichever run deleted it
    # The practice gets the confirmation exactly once, also after a crash between sending it and recording the
    # receipt's start (the outbox knows it was sent).
    assert_erased(server, org_id, mailbox, mails=1)


def test_dry_run_changes_nothing(server: LiveServer, clock: Clock, mailbox: MailBox,
                                 new_client: Callable[[str], Client], capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _, org_id = cancelled_practice(new_client, clock, server)
    settings = server.container.settings
    for key, value in server_env(settings).items():
        monkeypatch.setenv(key, value)
    if not settings.database_url:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    from interfaces.cli.main import main

    # The CLI uses the real clock: today is long after the end date 2021-03-31.
    assert main(["erasure", "run", "--dry-run"]) == 0
    assert "würde gelöscht" in capsys.readouterr().out
    assert server.container.services.keystore.exists(org_id)
    assert server.container.services.contracts.purger.count_events(org_id) > 0

    assert main(["erasure", "run"]) == 0
    assert "erased" in capsys.readouterr().out
    assert_erased(server, org_id, mailbox)


def test_kill_9_of_the_worker_in_the_middle_of_an_erasure(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    _, org_id = cancelled_practice(new_client, clock, server)
    services = server.container.services
    settings = server.container.settings
    env = server_env(settings) | {erasure.HALT_ENV: "events", "PYTHONFAULTHANDLER": "1"}
    log = settings.data_dir / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "interfaces.cli.main", "worker"], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while services.contracts.purger.count_events(org_id) and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.2)
        if services.contracts.purger.count_events(org_id):
            os.kill(worker.pid, signal.SIGABRT)
            time.sleep(1)
        assert services.contracts.purger.count_events(org_id) == 0, log.read_text()
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL, log.read_text()

    # Killed half-way: key and events are gone, read models and the receipt's completion are not.
    receipt = services.events.get(ErasureReceipt.id_for(erasure.org_hash(services, org_id)))
    assert receipt is not None and receipt.completed_at is None
    assert not services.keystore.exists(org_id)
    assert traces(settings, org_id) != []

    rerun = subprocess.run([sys.executable, "-m", "interfaces.cli.main", "erasure", "run"], cwd=ROOT,
                           env=server_env(settings), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "erased" in rerun.stdout
    assert_erased(server, org_id, mailbox)


def test_a_backup_restored_after_the_erasure_decrypts_nothing_of_the_practice(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client],
        tmp_path: Path) -> None:
    """The operator restores yesterday's dump of the events database (as after a disk failure) into a running
    deployment: the keys live elsewhere (PostgreSQL: KEYSTORE_URL, embedded: keystore.sqlite backed up apart),
    so the erased practice's events in the dump stay ciphertext."""
    _, org_id = cancelled_practice(new_client, clock, server)
    settings = server.container.settings
    backup = tmp_path / "backup"
    backup.mkdir()
    if settings.database_url:
        subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(backup / "events.dump"), settings.database_url],
                       check=True, timeout=120)
    else:
        for name in ("events.sqlite", "state.sqlite"):
            with sqlite3.connect(settings.data_dir / name) as live, sqlite3.connect(backup / name) as copy:
                live.backup(copy)

    at(clock, date(2021, 4, 1), hour=2)
    assert server.container.scheduler.run_all_once()["erasure"] == 1

    restored_db = fresh_postgres_database() if settings.database_url else None
    try:
        if restored_db is not None:
            url = next(restored_db)
            subprocess.run(["pg_restore", "--no-owner", "-d", url, str(backup / "events.dump")], check=True,
                           timeout=120)
            keys_from_the_dump = settings.keystore_url == settings.database_url
            restored = replace(settings, database_url=url, keystore_url=url if keys_from_the_dump
                               else settings.keystore_url, data_dir=tmp_path / "restored")
        else:
            restored = replace(settings, data_dir=tmp_path / "restored")
            restored.data_dir.mkdir()
            for name in ("events.sqlite", "state.sqlite"):
                shutil.copy(backup / name, restored.data_dir / name)
            with sqlite3.connect(settings.data_dir / "keystore.sqlite") as live, \
                    sqlite3.connect(restored.data_dir / "keystore.sqlite") as copy:
                live.backup(copy)  # the live keystore, kept apart from the database backups
        rows = raw_events(restored, org_id)
        assert len(rows) >= 5  # the dump holds the practice's events …
        container = build(restored, catch_up_after_save=False)
        try:
            assert not container.services.keystore.exists(org_id)
            for stored in rows:  # … and none of them can be read
                with pytest.raises(EventKeyDestroyed):
                    container.services.events.mapper.to_domain_event(stored)
        finally:
            container.close()
    finally:
        if restored_db is not None:
            restored_db.close()


def test_a_mail_server_that_is_down_delays_the_erasure_and_the_practice_still_gets_one_mail(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    _, org_id = cancelled_practice(new_client, clock, server)
    services = server.container.services
    smtp = services.mailer.smtp  # type: ignore[attr-defined]
    at(clock, date(2021, 4, 1), hour=2)
    smtp.port = free_port()  # nothing listens there
    with pytest.raises(OSError):
        erasure.run_due(services)
    assert services.keystore.exists(org_id)  # stopped before anything irreversible
    assert services.outbox.pending() == 1  # type: ignore[union-attr]

    smtp.port = mailbox.port
    clock.advance(minutes=10)
    done = server.container.scheduler.run_all_once()  # the outbox job runs before the erasure job
    assert done["outbox"] == 1 and done["erasure"] == 1  # the outbox sends it, the erasure not again
    assert_erased(server, org_id, mailbox, mails=1)
