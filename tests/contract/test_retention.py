"""Metadata retention (KBV): IP-derived throttle records, failure counters and any read model with metadata
(e.g. call logs) are deleted once older than three months, by the daily job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from application.retention import POLICY
from infrastructure.sql import Cursor
from tests.conftest import Clock, LiveServer


class CallLog:
    """A read model with metadata, as the call-log context will have: it joins retention by its hook."""

    name = "test_call_log"

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_test_call_log (ip TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)"]

    def clear(self, cur: Cursor) -> None:
        cur.execute("DELETE FROM rm_test_call_log")

    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    def prune_before(self, cutoff: datetime, cur: Cursor) -> int:
        return int(cur.execute("DELETE FROM rm_test_call_log WHERE at < %s", (cutoff.timestamp(),)).rowcount)


def test_cutoff_is_three_calendar_months() -> None:
    assert POLICY.cutoff(datetime(2026, 5, 31, 4, 0, tzinfo=UTC)) == datetime(2026, 2, 28, 4, 0, tzinfo=UTC)
    assert POLICY.cutoff(datetime(2024, 5, 29, tzinfo=UTC)) == datetime(2024, 2, 29, tzinfo=UTC)


def test_daily_job_deletes_metadata_older_than_three_months(server: LiveServer, clock: Clock) -> None:
    now = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
    clock.set(now)
    container = server.container
    old, young = (now - timedelta(days=95)).timestamp(), (now - timedelta(days=80)).timestamp()
    ephemeral = container.services.ephemeral
    ephemeral.record_hit("login-ip:192.0.2.0/24", old)
    ephemeral.record_hit("login-ip:198.51.100.0/24", young)
    ephemeral.set_failures("org-a:user", 3, old)
    ephemeral.set_failures("org-b:user", 2, young)
    call_log = CallLog()
    with container.state_db.transaction() as cur:
        for statement in call_log.schema():
            cur.execute(statement)
        cur.execute("INSERT INTO rm_test_call_log (ip, at) VALUES (%s, %s), (%s, %s)",
                    ("192.0.2.7", old, "198.51.100.7", young))
    container.projections.projections.append(call_log)

    job = next(job for job in container.scheduler.jobs if job.name == "retention")
    assert job.every_seconds == 86400
    assert job.run(container.services) == 3

    assert ephemeral.hits_since("login-ip:192.0.2.0/24", 0) == (0, None)
    assert ephemeral.hits_since("login-ip:198.51.100.0/24", 0)[0] == 1
    assert ephemeral.failures("org-a:user") == (0, 0.0) and ephemeral.failures("org-b:user")[0] == 2
    with container.state_db.transaction() as cur:
        assert [r[0] for r in cur.execute("SELECT ip FROM rm_test_call_log").fetchall()] == ["198.51.100.7"]
    assert job.run(container.services) == 0  # idempotent
