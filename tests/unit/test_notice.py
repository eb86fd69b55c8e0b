"""End date of a cancelled contract ("3 Monate zum Quartalsende") and when a downgrade applies.

The implementation adds months with clamping and takes the quarter's end. The tests check it against
formulations that share none of that code: dateutil's month arithmetic, and a day-by-day scan for quarter ends.
"""

from __future__ import annotations

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from domain.notice import add_months, contract_end_date, plan_downgrade_effective

D = datetime.date
ONE_DAY = datetime.timedelta(days=1)
FIRST = D(2019, 1, 1)
LAST = D(2030, 12, 31)


def _all_days(start: D, end: D) -> list[D]:
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


# Quarter ends found by looking at the calendar, not computed: a day whose successor starts a quarter.
QUARTER_ENDS = [
    d for d in _all_days(FIRST, D(2031, 12, 31)) if (d + ONE_DAY).day == 1 and (d + ONE_DAY).month in (1, 4, 7, 10)
]


def independent_end_date(cancelled_on: D) -> D:
    """The smallest quarter end E with cancelled_on + 3 months <= E (dateutil clamps like § 188 BGB)."""
    notice_expires = cancelled_on + relativedelta(months=3)
    return next(e for e in QUARTER_ENDS if notice_expires <= e)


def test_quarter_end_scan_is_sane() -> None:
    # Four per year; guards the oracle itself against an off-by-one.
    assert len(QUARTER_ENDS) == 13 * 4
    assert QUARTER_ENDS[:4] == [D(2019, 3, 31), D(2019, 6, 30), D(2019, 9, 30), D(2019, 12, 31)]


@given(st.dates(min_value=FIRST, max_value=LAST))
def test_end_date_matches_independent_formulation(cancelled_on: D) -> None:
    end = contract_end_date(cancelled_on)
    assert end == independent_end_date(cancelled_on)
    # The properties the rule promises, stated directly:
    assert end in QUARTER_ENDS
    assert end >= cancelled_on + relativedelta(months=3)  # the full notice is given
    previous = QUARTER_ENDS[QUARTER_ENDS.index(end) - 1]
    assert previous < cancelled_on + relativedelta(months=3)  # and not a quarter more than needed


def test_every_day_2019_to_2030() -> None:
    # Cheap enough to be exhaustive (4383 days), so no day is left to chance.
    for day in _all_days(FIRST, LAST):
        assert contract_end_date(day) == independent_end_date(day), day


@pytest.mark.parametrize(
    "cancelled_on,end",
    [
        (D(2020, 12, 28), D(2021, 3, 31)),  # the SPEC / seed example
        (D(2020, 12, 31), D(2021, 3, 31)),  # last day of a quarter: notice expires exactly on a quarter end
        (D(2021, 1, 1), D(2021, 6, 30)),  # first day of a quarter: just misses the next quarter end
        (D(2021, 3, 31), D(2021, 6, 30)),
        (D(2021, 6, 30), D(2021, 9, 30)),
        (D(2021, 9, 30), D(2021, 12, 31)),
        (D(2021, 4, 1), D(2021, 9, 30)),
        (D(2020, 11, 30), D(2021, 3, 31)),  # notice expires 2021-02-28 (clamped)
        (D(2024, 2, 29), D(2024, 6, 30)),  # leap day
        (D(2023, 11, 29), D(2024, 3, 31)),  # notice expires on the leap day 2024-02-29
        (D(2023, 11, 30), D(2024, 3, 31)),  # clamped to 2024-02-29
        (D(2024, 3, 31), D(2024, 6, 30)),
        (D(2019, 9, 30), D(2019, 12, 31)),
    ],
)
def test_examples(cancelled_on: D, end: D) -> None:
    assert contract_end_date(cancelled_on) == end


@pytest.mark.parametrize(
    "day,months,expected",
    [
        (D(2020, 11, 30), 3, D(2021, 2, 28)),
        (D(2023, 11, 30), 3, D(2024, 2, 29)),
        (D(2021, 1, 31), 1, D(2021, 2, 28)),
        (D(2020, 12, 28), 3, D(2021, 3, 28)),
        (D(2021, 10, 15), 3, D(2022, 1, 15)),
    ],
)
def test_add_months_clamps_to_month_end(day: D, months: int, expected: D) -> None:
    assert add_months(day, months) == expected


@given(st.dates(min_value=FIRST, max_value=LAST), st.integers(0, 48))
def test_add_months_agrees_with_dateutil(day: D, months: int) -> None:
    assert add_months(day, months) == day + relativedelta(months=months)


@pytest.mark.parametrize(
    "on,effective",
    [
        (D(2026, 5, 1), D(2026, 6, 1)),
        (D(2026, 5, 31), D(2026, 6, 1)),
        (D(2026, 12, 15), D(2027, 1, 1)),
        (D(2024, 2, 29), D(2024, 3, 1)),
    ],
)
def test_downgrade_takes_effect_on_the_first_of_the_next_month(on: D, effective: D) -> None:
    assert plan_downgrade_effective(on) == effective


@given(st.dates(min_value=FIRST, max_value=LAST))
def test_downgrade_effective_is_the_day_after_the_month_end(on: D) -> None:
    effective = plan_downgrade_effective(on)
    assert effective.day == 1
    assert (effective - ONE_DAY).month == on.month and (effective - ONE_DAY).year == on.year


def test_berlin_date_around_midnight_and_the_dst_changes() -> None:
    from datetime import UTC, datetime

    from domain.calendar_day import berlin_date

    assert berlin_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == datetime(2027, 1, 1).date()
    assert berlin_date(datetime(2026, 12, 31, 22, 59, tzinfo=UTC)) == datetime(2026, 12, 31).date()
    assert berlin_date(datetime(2026, 3, 28, 23, 30, tzinfo=UTC)) == datetime(2026, 3, 29).date()  # DST starts
    assert berlin_date(datetime(2026, 10, 24, 22, 30, tzinfo=UTC)) == datetime(2026, 10, 25).date()  # CEST
    assert berlin_date(datetime(2026, 10, 25, 22, 30, tzinfo=UTC)) == datetime(2026, 10, 25).date()  # CET
