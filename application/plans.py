"""Feature checks against the one plan table (domain/plans.py), for every feature that depends on the plan."""

from __future__ import annotations

from uuid import UUID

from application.errors import NotPermitted
from application.services import Services
from domain.contract import Contract
from domain.plans import Feature, feature_refused_message, plan_allows


def current_plan(services: Services, org_id: UUID) -> str:
    contract = services.events.get(Contract.id_for(org_id), Contract)
    if contract is None:
        raise NotPermitted("Für diese Organisation besteht kein Vertrag.")
    plan: str = contract.plan_on(services.today())
    return plan


def require_feature(services: Services, org_id: UUID, feature: Feature) -> None:
    """Raises NotPermitted (HTTP 403) with the German message the client shows."""
    if not plan_allows(current_plan(services, org_id), feature):
        raise NotPermitted(feature_refused_message(feature), "plan")
