"""Notice periods (Kündigungsfrist) and when plan changes take effect.

Pure date arithmetic without a clock: callers pass "today" from the injectable clock, so the same rule serves
the command, the confirmation e-mail, the scheduler that erases the organisation, and the tests.
"""

from __future__ import annotations

import calendar
import datetime

NOTICE_MONTHS = 3
"""The contract can be cancelled with three months' notice …"""

QUARTER_END_MONTHS = (3, 6, 9, 12)
"""… to the end of a calendar quarter ("3 Monate zum Quartalsende")."""


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, clamped to the last day of a shorter month.

    Clamping follows § 188 Abs. 3 BGB: a period that would end on a day the month does not have ends on the
    month's last day (2020-11-30 + 3 months = 2021-02-28).
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    last = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(day.day, last))


def quarter_end(day: datetime.date) -> datetime.date:
    """Last day of the calendar quarter containing `day`."""
    month = QUARTER_END_MONTHS[(day.month - 1) // 3]
    return datetime.date(day.year, month, calendar.monthrange(day.year, month)[1])


def contract_end_date(cancelled_on: datetime.date) -> datetime.date:
    """Last day of the contract when it is cancelled on `cancelled_on`.

    The notice of three months must have expired by the end date, and the contract can only end at the end
    of a quarter, so the end date is the end of the quarter in which the notice expires. Cancelled
    2020-12-28: notice expires 2021-03-28, contract ends 2021-03-31. A cancellation on a quarter's last day
    still reaches the end of the following quarter (2020-12-31 → 2021-03-31). Everything keeps working up to
    and including this day; the erasure is due after it.
    """
    return quarter_end(add_months(cancelled_on, NOTICE_MONTHS))


def plan_downgrade_effective(on: datetime.date) -> datetime.date:
    """First day on which a downgrade plus → basis requested on `on` applies.

    The plus month already started is paid for and usable to its end ("zum Monatsende"), so basis applies
    from the first day of the next month; from then on plus features are refused and the bank data can go.
    """
    return add_months(on.replace(day=1), 1)
