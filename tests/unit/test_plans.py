"""The plan table: basis refuses the paid functions, plus includes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.plans import (
    PLANS,
    Feature,
    UnknownPlan,
    feature_refused_message,
    participants_allowed,
    plan_allows,
)

PLUS_ONLY = [Feature.SMS_INVITATION, Feature.SCREEN_SHARING, Feature.CONFERENCE, Feature.AVV_CONFIRMATION]


@pytest.mark.parametrize("feature", PLUS_ONLY)
def test_basis_refuses_and_plus_allows_the_paid_functions(feature: Feature) -> None:
    assert not plan_allows("basis", feature)
    assert plan_allows("plus", feature)


@pytest.mark.parametrize("feature", list(Feature))
def test_plus_includes_everything_basis_includes(feature: Feature) -> None:
    # An upgrade must never take a function away.
    if plan_allows("basis", feature):
        assert plan_allows("plus", feature)


def test_basis_includes_the_free_functions_of_the_reference_product() -> None:
    for feature in (
        Feature.APPOINTMENTS,
        Feature.UNLIMITED_CONSULTATIONS,
        Feature.EMAIL_INVITATION,
        Feature.FULLSCREEN,
        Feature.HIDE_OWN_PICTURE,
    ):
        assert plan_allows("basis", feature)


def test_participants_two_in_basis_up_to_four_in_plus() -> None:
    assert participants_allowed("basis", 2)
    assert not participants_allowed("basis", 3)
    assert participants_allowed("plus", 4)
    assert not participants_allowed("plus", 5)
    assert not participants_allowed("plus", 0)


def test_prices_are_exact_decimals_and_only_plus_is_billable() -> None:
    assert PLANS["basis"].monthly_price_per_user == 0 and not PLANS["basis"].is_billable
    assert PLANS["plus"].monthly_price_per_user == Decimal("19.00")
    assert PLANS["plus"].sms_price == Decimal("0.10")
    assert PLANS["plus"].is_billable


def test_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        PLANS["basis"] = PLANS["plus"]  # type: ignore[index]


def test_unknown_plan_is_refused() -> None:
    with pytest.raises(UnknownPlan):
        plan_allows("gold", Feature.SCREEN_SHARING)


def test_refusal_message_is_german_and_names_the_plan() -> None:
    assert feature_refused_message(Feature.SCREEN_SHARING) == "Die Bildschirmfreigabe ist nur im Tarif plus enthalten."
    assert feature_refused_message(Feature.CONFERENCE).startswith("Konferenzen mit mehr als zwei Teilnehmern sind ")


@pytest.mark.parametrize("feature", list(Feature))
def test_every_feature_has_a_message(feature: Feature) -> None:
    message = feature_refused_message(feature)
    assert message.endswith("enthalten.")
    assert all(name in message for name, plan in PLANS.items() if feature in plan.features)
