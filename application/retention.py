"""Metadata retention (KBV, Anlage 31b BMV-Ä): IP addresses, throttle records and call logs are deleted after
three months at the latest.

The policy is one cutoff; what it applies to is every store that declares metadata by offering
`prune_before(cutoff, cur)` — the ephemeral tables (throttle records with IP prefixes, failure counters) and
any read model with metadata (e.g. a call log). A new read model joins by implementing the hook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.services import Services
from domain.notice import add_months

RETENTION_MONTHS = 3


@dataclass(frozen=True)
class RetentionPolicy:
    months: int = RETENTION_MONTHS

    def cutoff(self, now: datetime) -> datetime:
        """Anything recorded before this instant is older than the retention period."""
        day = add_months(now.date(), -self.months)
        return now.replace(year=day.year, month=day.month, day=day.day)


POLICY = RetentionPolicy()


def prune_metadata(services: Services, policy: RetentionPolicy = POLICY) -> int:
    """Daily job; returns how many rows went."""
    if services.contracts is None:
        return 0
    return sum(services.contracts.purger.prune_before(policy.cutoff(services.clock())).values())
