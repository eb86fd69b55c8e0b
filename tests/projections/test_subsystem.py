"""The read models as one subsystem: one read and one decryption of the log for all of them, a failing model
rolled back alone, a rebuild equal to the incremental state, and erasure emptying every declared table."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from domain.usage import SMS, UsageRecord
from infrastructure.readmodel_cipher import PREFIX as SEALED
from infrastructure.settings import Settings
from infrastructure.sql import Cursor
from interfaces.bootstrap import build
from interfaces.client.sdk import Client
from projections.runner import ProjectionRunner
from tests.conftest import Clock, LiveServer, MailBox, register
from tests.contract.helpers import BANK, at
from tests.contract.test_erasure import cancelled_practice


def snapshot(runner: ProjectionRunner) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every declared table, in a stable order. Sealed columns (§8a.9) are compared opened: each
    sealing takes a fresh nonce, so a rebuild seals the same values into other bytes."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with runner.db.transaction() as cur:
        for projection in runner.projections:
            cipher = getattr(projection, "cipher", None)
            for table, org_column in getattr(projection, "tables", {}).items():
                found = cur.execute(f"SELECT * FROM {table}")
                columns = [d[0] for d in found.description]
                shown = []
                for row in found.fetchall():
                    values = dict(zip(columns, row, strict=True))
                    shown.append(tuple(
                        cipher.open(UUID(str(values[org_column])), column, value)
                        if cipher is not None and isinstance(value, str) and value.startswith(SEALED) else str(value)
                        for column, value in values.items()))
                rows[table] = sorted(shown)
    return rows


class HalfWriter:
    """A read model with a bug: it writes a row, then fails on the same event."""

    name = "halb"
    tables = {"rm_half": "org_id"}  # noqa: RUF012  # a test double
    topics = frozenset({"sprechzimmer.Organisation.Registered"})

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_half (org_id TEXT NOT NULL)"]

    def apply(self, event: Any, cur: Cursor) -> None:
        cur.execute("INSERT INTO rm_half (org_id) VALUES (%s)", (str(event.originator_id),))
        raise ValueError("kaputt")


def test_a_failing_model_is_rolled_back_alone_and_the_others_commit_the_same_batch(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    container = server.container
    runner = ProjectionRunner(container.services.events, container.state_db,
                              [HalfWriter(), *container.projections.projections])
    register(new_client("a"))
    runner.catch_up()
    position = container.services.events.position()
    positions = runner.positions()
    assert positions["halb"] < position
    assert all(positions[p.name] == position for p in runner.projections if p.name != "halb")
    assert set(runner.faults()) == {"halb"}
    with container.state_db.transaction() as cur:
        assert cur.execute("SELECT COUNT(*) FROM rm_half").fetchone()[0] == 0  # its half write is gone
        assert cur.execute("SELECT COUNT(*) FROM rm_organisations").fetchone()[0] == 1


def test_the_log_is_read_and_decoded_once_for_all_models(server: LiveServer,
                                                         new_client: Callable[[str], Client]) -> None:
    container = server.container
    register(new_client("a"))
    events = container.services.events
    runner = container.projections
    with runner.db.transaction() as cur:
        cur.execute("UPDATE projection_tracking SET position = 0")
        for projection in runner.projections:
            for table in projection.tables:  # type: ignore[attr-defined]
                cur.execute(f"DELETE FROM {table}")
    reads, decodes = [], []
    select, decode = events.recorder.select_notifications, events.mapper.to_domain_event

    def counted_select(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return select(*args, **kwargs)

    def counted_decode(stored: Any) -> Any:
        decodes.append(stored)
        return decode(stored)

    events.recorder.select_notifications = counted_select  # type: ignore[method-assign]
    events.mapper.to_domain_event = counted_decode  # type: ignore[method-assign]
    runner.catch_up()
    position = events.position()
    assert set(runner.positions().values()) == {position}
    assert len(reads) == 1  # one batch for all of them (not full: the end of the log)
    wanted = set().union(*(p.topics for p in runner.projections))  # type: ignore[attr-defined]
    assert len(decodes) == len({(d.originator_id, d.originator_version) for d in decodes})  # each at most once
    assert all(d.topic in wanted for d in decodes) and len(decodes) < position  # no model wants the others


def test_a_rebuild_from_zero_equals_the_incremental_catch_up(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client]) -> None:
    services, runner = server.container.services, server.container.projections
    _, org_id = cancelled_practice(new_client, clock, server, plan="plus", billing=BANK)
    services.save(*[UsageRecord.record(org_id, SMS, "2021-01") for _ in range(3)])
    register(new_client("b"), credentials__org_short="PZweite")
    incremental = snapshot(runner)
    assert incremental["rm_organisations"] and incremental["rm_usage"] and incremental["rm_users"]
    runner.rebuild()
    assert snapshot(runner) == incremental


def test_erasure_leaves_nothing_of_the_organisation_in_any_declared_table(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    services, runner = server.container.services, server.container.projections
    _, org_id = cancelled_practice(new_client, clock, server, plan="plus", billing=BANK)
    services.save(*[UsageRecord.record(org_id, SMS, "2021-03") for _ in range(2)])
    other = UUID(register(new_client("b"), credentials__org_short="PZweite")["org_id"])

    def rows_of(org: UUID) -> dict[str, int]:
        counts = {}
        with runner.db.transaction() as cur:
            for projection in runner.projections:
                for table, column in projection.tables.items():  # type: ignore[attr-defined]
                    counts[table] = int(cur.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = %s",
                                                    (str(org),)).fetchone()[0])
        return counts

    assert sum(rows_of(org_id).values()) >= 4
    at(clock, date(2021, 4, 1), hour=2)
    done = server.container.scheduler.run_all_once()
    assert done["erasure"] == 1
    deadline = time.monotonic() + 10
    while not runner.seen(services.events.position()):
        assert time.monotonic() < deadline
        runner.catch_up()
    assert rows_of(org_id) == dict.fromkeys(rows_of(org_id), 0)
    assert sum(rows_of(other).values()) >= 3  # the other practice keeps its rows


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_postgres_web_worker_waits_for_the_worker_instead_of_catching_up(settings: Settings) -> None:
    web = build(settings, web_worker=True)
    worker = build(settings, catch_up_after_save=False)  # `sprechzimmer worker`, woken by NOTIFY
    worker.projections.start_thread(interval=30.0)
    catch_ups: list[int] = []
    web.projections.catch_up = lambda: catch_ups.append(1)  # type: ignore[method-assign]
    try:
        org_id = uuid.uuid4()
        web.services.keystore.create(org_id)
        position = web.services.save(*[UsageRecord.record(org_id, SMS, "2021-03") for _ in range(2)])
        # The save returned once the worker had applied it: the web worker reads its own write at once.
        assert web.projections.seen(position)
        assert web.services.contracts is not None
        assert web.services.contracts.directory.usage(org_id, "2021-03", SMS) == 2
        assert catch_ups == []
    finally:
        worker.close()
        web.close()


def test_an_organisations_events_are_found_through_an_index_not_a_scan(settings: Settings) -> None:
    import psycopg

    container = build(settings)
    try:
        purger = container.services.contracts.purger  # type: ignore[union-attr]
        table = purger._tables()[0]
        prefix = b"v1" + uuid.uuid4().bytes
        if settings.database_url is None:
            import sqlite3

            with sqlite3.connect(settings.data_dir / "events.sqlite") as conn:
                plan = str(conn.execute(f"EXPLAIN QUERY PLAN DELETE FROM {table} WHERE substr(state, 1, 18) = ?",
                                        (prefix,)).fetchall())
        else:
            with psycopg.connect(settings.database_url) as pg:
                pg.execute("SET enable_seqscan = off")  # an empty table: only the index can stand in for it
                plan = str(pg.execute(f"EXPLAIN DELETE FROM {table} WHERE substring(state from 1 for 18) = %s",
                                      (prefix,)).fetchall())
        assert f"{table}_org_prefix" in plan
    finally:
        container.close()


def test_a_save_already_covered_by_a_catch_up_reads_nothing_again(server: LiveServer,
                                                                   new_client: Callable[[str], Client]) -> None:
    """Embedded mode: concurrent requests whose saves one catch-up covered pay no catch-up of their own."""
    container = server.container
    register(new_client("a"))
    events, runner = container.services.events, container.projections
    reads: list[int] = []
    select = events.recorder.select_notifications

    def counted_select(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return select(*args, **kwargs)

    events.recorder.select_notifications = counted_select  # type: ignore[method-assign]
    position = events.position()
    runner.catch_up_to(position)  # the request that saved last
    runner.catch_up_to(position - 1)  # one that saved before it and waited for the lock
    assert reads == [] and runner.seen(position)  # the save itself had brought everything up to date
