"""Invoice arithmetic: exact decimals, VAT rounded half up on the net total, invoice numbers."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.invoice import (
    billing_period,
    compute_invoice,
    format_eur,
    format_invoice_number,
    parse_invoice_number,
)
from domain.plans import PLANS, Plan

PLUS = PLANS["plus"]


def test_three_users_and_forty_two_sms() -> None:
    amounts = compute_invoice(users=3, sms=42, plan=PLUS)
    assert [line.amount for line in amounts.lines] == [Decimal("57.00"), Decimal("4.20")]
    assert amounts.net == Decimal("61.20")
    assert amounts.vat == Decimal("11.63")  # 11.628 rounds up
    assert amounts.gross == Decimal("72.83")
    assert amounts.gross_cents == 7283


def test_zero_sms_leaves_only_the_base_fee() -> None:
    amounts = compute_invoice(users=1, sms=0, plan=PLUS)
    assert amounts.lines[1].quantity == 0 and amounts.lines[1].amount == 0
    assert (amounts.net, amounts.vat, amounts.gross) == (Decimal("19.00"), Decimal("3.61"), Decimal("22.61"))


def test_vat_half_cent_rounds_up() -> None:
    # 15 SMS = 1.50 net → 0.285 VAT exactly: 0.29 half up, whereas banker's rounding would give 0.28.
    amounts = compute_invoice(users=0, sms=15, plan=PLUS)
    assert amounts.net == Decimal("1.50")
    assert amounts.vat == Decimal("0.29")


def test_many_users_stay_exact() -> None:
    amounts = compute_invoice(users=10_000, sms=123_457, plan=PLUS)
    assert amounts.net == Decimal("190000.00") + Decimal("12345.70")
    assert amounts.vat == Decimal("38445.68")  # 202345.70 × 0.19 = 38445.683
    assert amounts.gross == amounts.net + amounts.vat


def test_basis_costs_nothing() -> None:
    amounts = compute_invoice(users=5, sms=0, plan=PLANS["basis"])
    assert amounts.gross == 0


@given(users=st.integers(0, 100_000), sms=st.integers(0, 1_000_000))
def test_totals_are_consistent_for_any_usage(users: int, sms: int) -> None:
    amounts = compute_invoice(users=users, sms=sms, plan=PLUS)
    # Independent formulation in integer cents: no Decimal rounding modes involved.
    net_cents = users * 1900 + sms * 10
    vat_cents = (net_cents * 19 + 50) // 100  # half up for non-negative integers
    assert amounts.net * 100 == net_cents
    assert amounts.vat * 100 == vat_cents
    assert amounts.gross_cents == net_cents + vat_cents
    assert amounts.net == sum(line.amount for line in amounts.lines)
    for value in (amounts.net, amounts.vat, amounts.gross):
        assert value.as_tuple().exponent == -2


@pytest.mark.parametrize("users,sms", [(-1, 0), (0, -1), (True, 0), (1.5, 0)])
def test_invalid_counts_are_refused(users: int, sms: int) -> None:
    with pytest.raises(ValueError):
        compute_invoice(users=users, sms=sms, plan=PLUS)


def test_other_prices_come_from_the_plan_not_from_constants() -> None:
    plan = Plan("test", Decimal("7.33"), Decimal("0.07"), 2, frozenset())
    amounts = compute_invoice(users=3, sms=3, plan=plan)
    assert amounts.net == Decimal("22.20")
    assert amounts.vat == Decimal("4.22")  # 4.218


def test_format_eur_uses_german_separators() -> None:
    assert format_eur(Decimal("1234567.5")) == "1.234.567,50 EUR"
    assert format_eur(Decimal("0.1")) == "0,10 EUR"


def test_invoice_number_format_and_parse_roundtrip() -> None:
    assert format_invoice_number(2026, 1) == "2026-000001"
    assert parse_invoice_number("2026-000042") == (2026, 42)


@given(year=st.integers(2000, 9999), seq=st.integers(1, 999_999))
def test_invoice_numbers_roundtrip_and_sort_like_the_sequence(year: int, seq: int) -> None:
    number = format_invoice_number(year, seq)
    assert parse_invoice_number(number) == (year, seq)
    if seq < 999_999:
        assert number < format_invoice_number(year, seq + 1)


@pytest.mark.parametrize("text", ["2026-0000001", "2026-000000", "26-000001", "2026-00001a", " 2026-000001", ""])
def test_malformed_invoice_numbers_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_invoice_number(text)


def test_sequence_zero_and_overflow_are_refused() -> None:
    with pytest.raises(ValueError):
        format_invoice_number(2026, 0)
    with pytest.raises(ValueError):
        format_invoice_number(2026, 1_000_000)


def test_billing_period() -> None:
    assert billing_period("2024-02") == (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    assert billing_period("2026-12") == (datetime.date(2026, 12, 1), datetime.date(2026, 12, 31))
    for bad in ("2026-13", "2026-00", "2026-1", "202601"):
        with pytest.raises(ValueError):
            billing_period(bad)


def test_the_sequence_issues_blocks_that_continue_a_year_numbered_one_by_one() -> None:
    """A year's numbers may have been issued one per event before blocks existed: a block continues after
    them, and a block that would pass the last number of the year is refused as a whole."""
    from uuid import uuid4

    from domain.base import Conflict
    from domain.billing import InvoiceSequence
    from domain.invoice import MAX_SEQUENCE

    sequence = InvoiceSequence.open(2026)
    for seq in (1, 2):  # as the sequence recorded them before
        sequence.trigger_event(InvoiceSequence.NumberIssued, number=format_invoice_number(2026, seq),
                               invoice_id=uuid4())
    assert sequence.issue([uuid4(), uuid4(), uuid4()]) == ["2026-000003", "2026-000004", "2026-000005"]
    assert sequence.issue([]) == []
    assert sequence.issue([uuid4()]) == ["2026-000006"]

    sequence.last = MAX_SEQUENCE - 1
    version = sequence.version
    with pytest.raises(Conflict):
        sequence.issue([uuid4(), uuid4()])
    assert sequence.version == version and sequence.issue([uuid4()]) == [format_invoice_number(2026, MAX_SEQUENCE)]
