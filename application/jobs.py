"""Scheduled jobs (erasure, billing, reminders, clean-up) as plain functions of the services.

A job finds its due work in the event store or its read models each time it runs, rather than remembering
timers: so a restart rebuilds everything that is due, and a job that runs twice, or after a crash in the
middle, does no harm as long as each unit of work is idempotent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from application.services import Services


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[Services], int]  # returns how many units of work it did


def prune_ephemeral(services: Services) -> int:
    """Expired challenges and stale throttle records (they hold IP prefixes) go daily at the latest."""
    services.ephemeral.prune(services.now())
    return 0


def retry_outbox(services: Services) -> int:
    """Mails (and other side effects) whose sending failed or was interrupted by a crash go out now."""
    return services.outbox.retry_pending() if services.outbox is not None else 0


CORE_JOBS = [Job("prune-ephemeral", 3600, prune_ephemeral), Job("outbox", 300, retry_outbox)]
