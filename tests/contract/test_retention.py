"""Metadata retention (KBV): every table of every database declares how long it keeps its rows, and the daily
job deletes what is older than three months — sessions, throttle records, failure counters, the access logs
(the practice's and the server's), call logs, recovery notices with their IP prefixes (also inside the event,
whose month key is destroyed), past appointments with their consent and SMS times."""

from __future__ import annotations

import logging
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from application.retention import POLICY, Pruned, Retention, open_metadata
from domain.organisation import Organisation
from infrastructure import crypto
from infrastructure.log_files import DailyAccessLog, log_dir
from infrastructure.settings import Settings
from interfaces.client import appointments as ap
from interfaces.client.sdk import ApiError, Client
from tests.appointments.conftest import PLUS_BILLING, SmsGatewayServer, sms_gateway  # noqa: F401 (fixture)
from tests.conftest import PASSWORD, Clock, LiveServer, register
from tests.devices.test_recovery import _wrong_proof

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)  # three months and six days on: cutoff 2026-03-08
# a column that holds a time or an address: such a table must never escape a declaration
METADATA_COLUMN = re.compile(r"(^|_)(at|ts|since|created|expires|last_seen|beat|month|period|ip)($|_)")


@pytest.fixture
def settings(settings: Settings, sms_gateway: SmsGatewayServer) -> Settings:  # noqa: F811 (pytest fixture)
    return replace(settings, sms_gateway_url=sms_gateway.url, sms_gateway_token="test-token")


def schema(settings: Settings) -> dict[str, set[str]]:
    """Every table of every database the server keeps (events, state, keys), with its columns."""
    tables: dict[str, set[str]] = {}
    if settings.database_url:
        for url in {settings.database_url, settings.keystore_url}:
            with psycopg.connect(str(url)) as conn:
                for table, column in conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                                                  "WHERE table_schema = 'public'"):
                    tables.setdefault(table, set()).add(column)
        return tables
    for name in ("events.sqlite", "state.sqlite", "keystore.sqlite"):
        with sqlite3.connect(settings.data_dir / name) as conn:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'").fetchall():
                tables[table] = {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}
    return tables


def undeclared(settings: Settings, declared: dict[str, Retention]) -> list[str]:
    return sorted(table for table in schema(settings) if table not in declared)


def _state(server: LiveServer, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with server.container.state_db.transaction() as cur:
        return list(cur.execute(sql, params).fetchall()) if sql.startswith("SELECT") else [cur.execute(sql, params)]


def test_cutoff_is_three_calendar_months() -> None:
    assert POLICY.cutoff(datetime(2026, 5, 31, 4, 0, tzinfo=UTC)) == datetime(2026, 2, 28, 4, 0, tzinfo=UTC)
    assert POLICY.cutoff(datetime(2024, 5, 29, tzinfo=UTC)) == datetime(2024, 2, 29, tzinfo=UTC)


def test_every_table_declares_its_retention(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    client = new_client("praxis")
    register(client)
    client.login("PWinkler", "MartinW", PASSWORD)  # sessions, access log, …: every adapter has created its tables
    declared = server.container.services.contracts.purger.declarations()  # type: ignore[union-attr]
    tables = schema(server.settings)
    assert {"sessions", "access_log", "call_log", "rm_appointments", "rm_notices", "org_keys"} <= set(tables)
    assert undeclared(server.settings, declared) == []
    for table, rule in declared.items():
        if isinstance(rule, Pruned) and table in tables:
            assert rule.column in tables[table], f"{table}: no column {rule.column}"
    timed = sorted(t for t, columns in tables.items() if any(METADATA_COLUMN.search(c) for c in columns))
    assert "sessions" in timed and "call_log" in timed and all(t in declared for t in timed)

    # A new read model or adapter table with times that forgets its declaration fails this test.
    _state(server, "CREATE TABLE rm_visits (org_id TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, ip TEXT)")
    assert undeclared(server.settings, declared) == ["rm_visits"]


def _older(server: LiveServer, table: str, rule: Pruned, cutoff: datetime) -> int:
    store = server.container.keystore_db if table == "metadata_keys" else server.container.state_db
    limit: object = cutoff.strftime("%Y-%m") if rule.unit == "month" else cutoff.timestamp()
    op = "<=" if rule.unit == "month" else "<"
    with store.transaction() as cur:
        return int(cur.execute(f"SELECT COUNT(*) FROM {table} WHERE {rule.column} {op} %s", (limit,)).fetchone()[0])


def _events(server: LiveServer, org_id: uuid.UUID) -> Iterator[Any]:
    for event in server.container.services.events.events.get(org_id):  # type: ignore[attr-defined]
        if isinstance(event, Organisation.RecoveryNoticed):
            yield event


def test_every_pruned_table_is_pruned_under_a_moved_clock(server: LiveServer, clock: Clock,
                                                          new_client: Callable[[str], Client]) -> None:
    clock.set(START)
    container = server.container
    declared = container.services.contracts.purger.declarations()  # type: ignore[union-attr]
    client = new_client("praxis")
    org_id = uuid.UUID(register(client, plan="plus", billing=PLUS_BILLING)["org_id"])
    client.login("PWinkler", "MartinW", PASSWORD)  # a session, a login in the access log, throttle records
    with pytest.raises(ApiError):
        new_client("praxis").login("PWinkler", "MartinW", "falsches Passwort 123")  # the same device: a failure count
    assert _wrong_proof(new_client("rescue")).status == 401  # a recovery notice with the IP prefix
    client.request("POST", "/api/v1/auth/start", {"org": "PWinkler", "user": "MartinW", "device_id": "dev-abandoned",
                                                  "origin": client.origin})  # a challenge nobody finishes
    planned = ap.add(client, START + timedelta(days=1), 30, "Jörg Böhm", phone="0151 23456789")
    ap.record_consent(client, planned.appointment_id, "mündlich")
    ap.send_sms_invitation(client, planned.appointment_id)  # the month's SMS count
    assert container.calls is not None
    container.calls.call_log.record(str(org_id), planned.appointment_id, "peer", "patient", "joined",
                                    START.timestamp(), "192.0.2.7")
    if "call_member" in schema(server.settings):  # the hub's membership table (where it keeps one)
        _state(server, "INSERT INTO call_member (room, peer_id, org_id, role, state, since, resume_hash, conn_id, "
                       "connected, gone_at, worker) VALUES ('r', 'p', %s, 'patient', 'waiting', %s, '', '', FALSE, "
                       "%s, 'w')", (str(org_id), START.timestamp(), START.timestamp()))
    if "call_signal_blob" in schema(server.settings):  # PostgreSQL's hub, once it has run
        _state(server, "INSERT INTO call_signal_blob (payload, created) VALUES ('{}', %s)", (START.timestamp(),))
    server_log = DailyAccessLog(log_dir(server.settings.data_dir))
    for moment in (START, LATER):
        line = logging.makeLogRecord({"msg": '127.0.0.0 "GET /healthz" 200', "created": moment.timestamp()})
        server_log.emit(line)
    notices = _state(server, "SELECT detail FROM rm_notices WHERE kind = 'recovery-failed'")
    assert notices == [("127.0.0.0/24",)]
    stored = [e.ip_prefix for e in _events(server, org_id)]
    assert stored and all(p.startswith("mk1:2026-03:") and "127.0.0" not in p for p in stored)  # sealed in the event

    clock.set(LATER)
    cutoff = POLICY.cutoff(LATER)
    pruned = {t: r for t, r in declared.items() if isinstance(r, Pruned) and t in schema(server.settings)}
    old = {table: _older(server, table, rule, cutoff) for table, rule in pruned.items()}
    assert [t for t, n in old.items() if n == 0] == []  # every pruned table has something to prune
    client.login("PWinkler", "MartinW", PASSWORD)  # young metadata: a session of today, its login in the log
    young = ap.add(client, LATER + timedelta(days=1), 30, "Erika Muster")

    job = next(job for job in container.scheduler.jobs if job.name == "retention")
    assert job.every_seconds == 86400
    assert job.run(container.services) >= sum(old.values())

    assert {table: _older(server, table, rule, cutoff) for table, rule in pruned.items()} == dict.fromkeys(pruned, 0)
    assert [e.appointment_id for e in ap.listing(client, week="2026-W24")] == [young.appointment_id]
    assert _state(server, "SELECT COUNT(*) FROM access_log WHERE org_id = %s", (str(org_id),)) == [(1,)]
    assert sorted(p.name for p in log_dir(server.settings.data_dir).iterdir()) == ["access-2026-06-08.log"]
    # The prefix inside the event is unreadable now (its month's key is gone), also after a rebuild.
    assert [open_metadata(container.services.keystore, crypto, e.ip_prefix) for e in _events(server, org_id)] == \
        [""] * len(stored)
    container.projections.rebuild()
    assert _state(server, "SELECT detail FROM rm_notices WHERE kind = 'recovery-failed'") in ([], [("",)])
    assert job.run(container.services) >= 1  # what the rebuild brought back (old appointments) goes again
    assert job.run(container.services) == 0  # idempotent
