"""What each plan (Tarif) includes — the one table every feature check consults.

Keeping the plans in a single immutable table means a price or a feature moves in exactly one place, and the
HTTP layer, the scheduler and the billing run cannot disagree about what "plus" means. Prices are net
(zzgl. Mehrwertsteuer), as on the contract page of the reference product.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType


class Feature(enum.Enum):
    """Functions a plan can include; the values are stable identifiers for APIs and logs."""

    APPOINTMENTS = "appointments"  # Terminverwaltung
    UNLIMITED_CONSULTATIONS = "unlimited_consultations"  # unbegrenzte Sprechstunden
    EMAIL_INVITATION = "email_invitation"  # Einladung per manueller E-Mail
    FULLSCREEN = "fullscreen"  # Vollbildfunktion
    HIDE_OWN_PICTURE = "hide_own_picture"  # das eigene Bild ausblenden
    SMS_INVITATION = "sms_invitation"  # Einladung per SMS
    SCREEN_SHARING = "screen_sharing"  # Bildschirmfreigabe
    CONFERENCE = "conference"  # Konferenzen mit mehr als zwei Teilnehmern
    AVV_CONFIRMATION = "avv_confirmation"  # schriftliche Bestätigung des AVV


# German labels, with whether the label is grammatically plural ("Konferenzen … sind"), so that refusal
# messages read naturally instead of being assembled from fragments elsewhere.
_LABELS_DE: Mapping[Feature, tuple[str, bool]] = MappingProxyType(
    {
        Feature.APPOINTMENTS: ("Die Terminverwaltung", False),
        Feature.UNLIMITED_CONSULTATIONS: ("Unbegrenzte Sprechstunden", True),
        Feature.EMAIL_INVITATION: ("Die Einladung per E-Mail", False),
        Feature.FULLSCREEN: ("Die Vollbildfunktion", False),
        Feature.HIDE_OWN_PICTURE: ("Das Ausblenden des eigenen Bildes", False),
        Feature.SMS_INVITATION: ("Die Einladung per SMS", False),
        Feature.SCREEN_SHARING: ("Die Bildschirmfreigabe", False),
        Feature.CONFERENCE: ("Konferenzen mit mehr als zwei Teilnehmern", True),
        Feature.AVV_CONFIRMATION: ("Die schriftliche Bestätigung des AVV", False),
    }
)


@dataclass(frozen=True)
class Plan:
    """One plan. Prices are net amounts in EUR with two decimal places."""

    name: str
    monthly_price_per_user: Decimal
    sms_price: Decimal
    max_participants: int
    features: frozenset[Feature]

    @property
    def is_billable(self) -> bool:
        """A plan that can cost money needs bank data and a SEPA mandate; a free one must not ask for them."""
        return self.monthly_price_per_user > 0 or self.sms_price > 0


BASIS = "basis"
PLUS = "plus"

_BASIS_FEATURES = frozenset(
    {
        Feature.APPOINTMENTS,
        Feature.UNLIMITED_CONSULTATIONS,
        Feature.EMAIL_INVITATION,
        Feature.FULLSCREEN,
        Feature.HIDE_OWN_PICTURE,
    }
)

# A read-only view: the table is shared process-wide, so nobody may patch a price at run time.
PLANS: Mapping[str, Plan] = MappingProxyType(
    {
        BASIS: Plan(
            name=BASIS,
            monthly_price_per_user=Decimal("0.00"),
            sms_price=Decimal("0.00"),
            max_participants=2,
            features=_BASIS_FEATURES,
        ),
        PLUS: Plan(
            name=PLUS,
            monthly_price_per_user=Decimal("19.00"),
            sms_price=Decimal("0.10"),
            max_participants=4,
            features=_BASIS_FEATURES
            | {Feature.SMS_INVITATION, Feature.SCREEN_SHARING, Feature.CONFERENCE, Feature.AVV_CONFIRMATION},
        ),
    }
)


class UnknownPlan(ValueError):
    """Raised for a plan name that is not in the table (e.g. a typo in a request or an old event)."""


def get_plan(plan_name: str) -> Plan:
    try:
        return PLANS[plan_name]
    except KeyError:
        raise UnknownPlan(f"Unbekannter Tarif: {plan_name!r}") from None


def plan_allows(plan_name: str, feature: Feature) -> bool:
    return feature in get_plan(plan_name).features


def participants_allowed(plan_name: str, participants: int) -> bool:
    """Whether a call with this many participants (practitioner included) is allowed in the plan."""
    return 0 < participants <= get_plan(plan_name).max_participants


def plans_including(feature: Feature) -> list[Plan]:
    """Plans that include the feature, cheapest first — what an upgrade hint should point to."""
    return sorted((p for p in PLANS.values() if feature in p.features), key=lambda p: p.monthly_price_per_user)


def feature_refused_message(feature: Feature) -> str:
    """German `detail` for the 403 returned when the organisation's plan lacks the feature."""
    label, plural = _LABELS_DE[feature]
    verb = "sind" if plural else "ist"
    names = [p.name for p in plans_including(feature)]
    if len(names) == 1:
        where = f"nur im Tarif {names[0]}"
    else:
        where = "nur in den Tarifen " + ", ".join(names[:-1]) + " und " + names[-1]
    return f"{label} {verb} {where} enthalten."
