""""Today" is the German calendar day (issue 9.4): at 23:30 UTC on a quarter's or month's last day it is
already the next day in Berlin, so cancellations, plan changes, registrations and billing runs count it as
that next day. The clock stands at the moments where UTC and Berlin disagree, in summer and winter time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import UUID

from application import billing
from application.plans import current_plan
from domain.billing import Invoice
from interfaces.client import contract
from interfaces.client.sdk import Client
from tests.conftest import Clock, LiveServer, MailBox
from tests.contract.helpers import BANK, practice, relogin


def utc(year: int, month: int, day: int, hour: int, minute: int = 30) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_cancellation_after_midnight_in_berlin_counts_as_the_first_day_of_the_quarter(
        server: LiveServer, clock: Clock, mailbox: MailBox, new_client: Callable[[str], Client]) -> None:
    client, _ = practice(new_client, clock, date(2026, 3, 1))
    # 23:30 UTC on each quarter's last day is 00:30 (winter) or 01:30 (summer) on the next day in Berlin:
    # the notice runs from that next day, so the contract ends a quarter later than a UTC date would say.
    for moment, cancelled_on, ends_on in ((utc(2026, 3, 31, 23), "2026-04-01", "2026-09-30"),
                                          (utc(2026, 6, 30, 23), "2026-07-01", "2026-12-31"),
                                          (utc(2026, 9, 30, 23), "2026-10-01", "2027-03-31"),
                                          (utc(2026, 12, 31, 23), "2027-01-01", "2027-06-30")):
        clock.set(moment)
        relogin(client)
        view = contract.cancel(client, True)
        assert (view["cancelled_on"], view["ends_on"]) == (cancelled_on, ends_on)
        ends = date.fromisoformat(ends_on).strftime("%d.%m.%Y")
        assert f"Ihr Vertrag endet zum {ends}" in mailbox.wait_for(1)[-1].get_content()
        contract.revoke(client)
        mailbox.messages.clear()


def test_registration_and_plan_changes_use_the_berlin_day(server: LiveServer, clock: Clock,
                                                          new_client: Callable[[str], Client]) -> None:
    # 00:30 on 1 January 2027 in Berlin: the contract and the SEPA mandate date from 2027.
    clock.set(utc(2026, 12, 31, 23))
    client = new_client("PWinkler")
    from tests.conftest import PASSWORD, register

    result = register(client, plan="plus", billing=BANK)
    client.login("PWinkler", "MartinW", PASSWORD)
    view = contract.show(client)
    assert view["concluded_on"] == "2027-01-01" and view["bank"]["mandate_signed_on"] == "2027-01-01"

    # A downgrade at 01:30 on 1 July (summer time) applies from 1 August, not from 1 July.
    clock.set(utc(2027, 6, 30, 23))
    relogin(client)
    view = contract.downgrade(client)
    assert view["next_plan"] == "basis" and view["next_plan_from"] == "2027-08-01"
    services, org_id = server.container.services, UUID(result["org_id"])
    assert current_plan(services, org_id) == "plus"
    clock.set(utc(2027, 7, 31, 22, 30))  # 00:30 on 1 August in Berlin: basis applies
    assert current_plan(services, org_id) == "basis"


def test_a_billing_run_just_after_midnight_on_the_first_bills_the_month_just_ended(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client]) -> None:
    _, result = practice(new_client, clock, date(2026, 10, 5), plan="plus", billing=BANK)
    services, org_id = server.container.services, UUID(result["org_id"])

    # 00:30 on 1 November in Berlin (winter time since 25 October) is still 31 October in UTC.
    clock.set(utc(2026, 10, 31, 23))
    assert billing.monthly_job(services) == 1
    invoice = services.events.get(Invoice.id_for(org_id, "2026-10"))
    assert invoice is not None and invoice.issued_on == "2026-11-01"

    # 00:30 on 1 April in Berlin (summer time since 29 March) is 22:30 UTC on 31 March.
    clock.set(utc(2027, 3, 31, 22))
    assert billing.run(services, "2027-03").invoices == ["2027-000001"]
