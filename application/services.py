"""The dependencies every use case receives explicitly; wired once in interfaces/bootstrap.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from application.eventstore import EventStore
from application.ports import (
    AccessLog,
    AppointmentViews,
    Clock,
    ContractPorts,
    Crypto,
    Ephemeral,
    Keystore,
    LoginDirectory,
    Mailer,
    Outbox,
    ReminderNumbers,
    SmsGateway,
)
from domain.base import Conflict
from domain.calendar_day import berlin_date

log = logging.getLogger("sprechzimmer.app")
MSG_CONCURRENT = "Die Daten wurden gleichzeitig geändert. Bitte neu laden und den Vorgang wiederholen."


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    events: EventStore
    keystore: Keystore
    ephemeral: Ephemeral
    crypto: Crypto
    pepper_code: bytes = field(repr=False)
    fake_salt_key: bytes = field(repr=False)
    origins: tuple[str, ...]
    mailer: Mailer
    clock: Clock = utc_now
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    after_save: Callable[[int], None] = lambda position: None  # keeps read models current (embedded mode)
    contracts: ContractPorts | None = None  # read-model queries, erasure storage, billing set-up (issue 5)
    sms: SmsGateway | None = None  # None: no gateway configured, SMS are refused with 503
    appointment_views: AppointmentViews | None = None
    reminder_numbers: ReminderNumbers | None = None
    outbox: Outbox | None = None  # side effects recorded before they are sent; retried by the outbox job
    logins: LoginDirectory | None = None  # credentials for auth/start and auth/finish (a read model)
    access_log: AccessLog | None = None  # the practice's sealed access log (issue 14)
    legal_versions: dict[str, str] = field(default_factory=dict)  # legal text → current version (legal/*.md)

    def save(self, *aggregates: Any) -> int:
        """Saves atomically and returns the position of the last event, for read-your-writes."""
        recordings = self.events.save(*aggregates)
        position = recordings[-1].notification.id if recordings else self.events.position()
        try:
            self.after_save(position)
        except Exception:  # the events are committed; a lagging read model catches up on its next run
            log.exception("read models did not catch up after save")
        return position

    def commit(self, *aggregates: Any, message: str = MSG_CONCURRENT, field: str | None = None) -> int:
        """The one way use cases save: optimistic concurrency makes a concurrent change of the same aggregate
        (or a deterministic id taken twice) an IntegrityError of the store, which is the user's 409 Conflict,
        never a 500 — and nothing of the command is written. Callers that retry catch the Conflict."""
        try:
            return self.save(*aggregates)
        except IntegrityError:
            raise Conflict(message, field) from None

    def now(self) -> float:
        return self.clock().timestamp()

    def today(self) -> date:
        """"Today" for contracts, billing, cancellation, plan changes and calendar defaults: the Berlin date of
        the injectable clock. Every use case asks this, never `clock().date()` (that is the UTC day)."""
        return berlin_date(self.clock())
