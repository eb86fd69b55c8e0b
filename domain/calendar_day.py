"""Dates a person sees and contracts are counted in are German calendar days (SPEC: Europe/Berlin), never UTC
days: at 00:30 on 1 January in Berlin it is still 31 December in UTC, and a cancellation, a plan change or
a billing run must count that moment as 1 January."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_date(moment: datetime) -> date:
    """The Berlin calendar day of an aware moment (the injectable clock gives aware UTC datetimes)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no calendar day in Berlin")
    return moment.astimezone(BERLIN).date()
