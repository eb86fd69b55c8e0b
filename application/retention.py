"""Metadata retention (KBV, Anlage 31b BMV-Ä): IP addresses, session and throttle records, call logs, the
access logs and the times of past appointments are deleted after three months at the latest.

Every table declares its retention next to its schema (`retention: dict[table, Pruned | Kept]`): `Pruned` names
the time column the daily job compares with the cutoff, `Kept` says why the rows may outlive three months (and
when they go instead). tests/contract/test_retention.py lists every table of every database and fails on one
without a declaration, so a new table cannot hold times or addresses unnoticed.

Data inside events cannot be deleted row by row (the event log is the history). The one piece of metadata an
event carries — the IP prefix of a recovery attempt — is therefore sealed under a key of its calendar month
(`seal_metadata`), and the job destroys the keys of months past the cutoff: from then on the prefix is
unreadable in the event store and in every backup of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from application.ports import Crypto, Keystore
from application.services import Services
from domain.notice import add_months

RETENTION_MONTHS = 3


@dataclass(frozen=True)
class Pruned:
    """Rows whose `column` lies before the cutoff are deleted by the daily job. `unit` "epoch": seconds since
    1970; "month": "YYYY-MM", and a month goes as soon as the cutoff lies inside it (never later than three
    months after its last day's data)."""

    column: str
    unit: Literal["epoch", "month"] = "epoch"


@dataclass(frozen=True)
class Kept:
    """Not metadata of a use: the reason the rows stay, and what removes them instead."""

    reason: str


Retention = Pruned | Kept


@dataclass(frozen=True)
class RetentionPolicy:
    months: int = RETENTION_MONTHS

    def cutoff(self, now: datetime) -> datetime:
        """Anything recorded before this instant is older than the retention period."""
        day = add_months(now.date(), -self.months)
        return now.replace(year=day.year, month=day.month, day=day.day)


POLICY = RetentionPolicy()


def prune_metadata(services: Services, policy: RetentionPolicy = POLICY) -> int:
    """Daily job; returns how many rows (and log files) went."""
    if services.contracts is None:
        return 0
    return sum(services.contracts.purger.prune_before(policy.cutoff(services.clock())).values())


# --- metadata inside events -----------------------------------------------------------------------------------

SEALED = "mk1:"  # "mk1:" ‖ period ‖ ":" ‖ hex(XChaCha20-Poly1305(K_period, value, lp("vdc/v1/metadata", period)))


def period_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def seal_metadata(services: Services, value: str) -> str:
    """`value` sealed under the key of the current month, for an event field that must not outlive retention."""
    period = period_of(services.clock())
    key = services.keystore.metadata_key(period)
    assert key is not None  # created on demand for the current month
    sealed = services.crypto.aead_encrypt(key, value.encode(), services.crypto.lp("vdc/v1/metadata", period))
    return f"{SEALED}{period}:{sealed.hex()}"


def open_metadata(keystore: Keystore, crypto: Crypto, stored: str) -> str:
    """The sealed value, or "" once its month's key is destroyed. A value stored before sealing existed (an
    older event) is returned as it is."""
    if not stored.startswith(SEALED):
        return stored
    period, _, sealed = stored[len(SEALED):].partition(":")
    key = keystore.metadata_key(period, create=False)
    if key is None:
        return ""
    try:
        return crypto.aead_decrypt(key, bytes.fromhex(sealed), crypto.lp("vdc/v1/metadata", period)).decode()
    except Exception:  # a tampered value reads as gone, like a destroyed key
        return ""
