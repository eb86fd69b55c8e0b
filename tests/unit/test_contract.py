"""The contract aggregate: the plan in force on any day, plan changes, cancellation and revocation."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.base import Conflict, DomainError
from domain.contract import Contract
from domain.notice import contract_end_date

BANK = {"holder": "A", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "mandate_reference": "SPZ-1",
        "mandate_signed_on": "2026-01-05"}


def test_plan_changes_over_time() -> None:
    contract = Contract.conclude(uuid4(), "basis", "2026-01-05", None)
    contract.upgrade(date(2026, 2, 10), BANK)
    assert contract.plan_on(date(2026, 2, 9)) == "basis" and contract.plan_on(date(2026, 2, 10)) == "plus"
    assert contract.downgrade(date(2026, 3, 31)) == date(2026, 4, 1)
    assert contract.plan_on(date(2026, 3, 31)) == "plus" and contract.plan_on(date(2026, 4, 1)) == "basis"
    assert contract.bank == BANK and not contract.bank_data_obsolete(date(2026, 3, 31))
    assert contract.bank_data_obsolete(date(2026, 4, 1))
    contract.delete_bank_data(date(2026, 4, 1))
    assert contract.bank is None
    contract.upgrade(date(2026, 5, 1), BANK)  # and back again
    assert contract.plan_on(date(2026, 5, 1)) == "plus" and contract.plan_on(date(2026, 4, 30)) == "basis"


def test_upgrade_during_a_pending_downgrade_keeps_plus() -> None:
    contract = Contract.conclude(uuid4(), "plus", "2026-01-05", BANK)
    contract.downgrade(date(2026, 1, 20))
    contract.upgrade(date(2026, 1, 25), BANK)
    assert contract.plan_on(date(2026, 2, 1)) == "plus" and contract.pending_change(date(2026, 1, 26)) is None
    with pytest.raises(Conflict):
        contract.delete_bank_data(date(2026, 2, 1))


def test_cancellation_needs_explicit_confirmation() -> None:
    contract = Contract.conclude(uuid4(), "basis", "2026-01-05", None)
    with pytest.raises(DomainError) as err:
        contract.cancel(date(2026, 2, 1), confirmed=False)
    assert err.value.field == "confirm"
    assert contract.cancel(date(2020, 12, 28), confirmed=True) == date(2021, 3, 31)
    with pytest.raises(Conflict):
        contract.cancel(date(2020, 12, 29), confirmed=True)
    with pytest.raises(Conflict):
        contract.downgrade(date(2020, 12, 29))


@given(st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 12, 31)), st.integers(min_value=0, max_value=200))
def test_revocation_possible_until_the_end_date_never_after(cancelled: date, days_later: int) -> None:
    contract = Contract.conclude(uuid4(), "basis", "2019-01-01", None)
    end = contract.cancel(cancelled, confirmed=True)
    assert end == contract_end_date(cancelled)
    on = cancelled + timedelta(days=days_later)
    if on <= end:
        contract.revoke_cancellation(on)
        assert not contract.is_cancelled and contract.end_date is None
    else:
        with pytest.raises(Conflict):
            contract.revoke_cancellation(on)
        assert contract.end_date == end
