"""Metadata retention (KBV): IP-derived throttle records, failure counters and call logs are deleted once
older than three months, by the daily job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from application.retention import POLICY
from tests.conftest import Clock, LiveServer


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
    calls = container.calls
    assert calls is not None
    org = uuid.uuid4()
    container.services.keystore.create(org)  # call-log addresses are sealed under the practice's key (§8a.9)
    for ip, at in (("192.0.2.7", old), ("198.51.100.7", young)):
        calls.call_log.record(str(org), "appointment-1", "peer", "patient", "joined", at, ip)

    job = next(job for job in container.scheduler.jobs if job.name == "retention")
    assert job.every_seconds == 86400
    assert job.run(container.services) == 3

    assert ephemeral.hits_since("login-ip:192.0.2.0/24", 0) == (0, None)
    assert ephemeral.hits_since("login-ip:198.51.100.0/24", 0)[0] == 1
    assert ephemeral.failures("org-a:user") == (0, 0.0) and ephemeral.failures("org-b:user")[0] == 2
    assert [entry["ip"] for entry in calls.call_log.entries(str(org), "appointment-1")] == ["198.51.100.7"]
    assert job.run(container.services) == 0  # idempotent
