"""Stammdaten: the organisation's profile, address and contact and the main user's data. The request
schemas are those of the registration, so the same rules apply; the short name is not part of them and
therefore cannot change."""

from __future__ import annotations

from typing import Any

from application.access import Session
from application.errors import NotPermitted
from application.fresh import organisation_of, save
from application.services import Services

MSG_ADMIN = "Nur Administratoren dürfen die Stammdaten ändern."


def show(services: Services, session: Session) -> dict[str, Any]:
    organisation = organisation_of(services, session)
    profile = organisation.profile
    return {"org_short": organisation.short_name, "organisation": profile["organisation"],
            "address": profile["address"], "main_user": profile["main_user"],
            "main_user_short": organisation.users[organisation.main_user_key].short_name}


def update(services: Services, session: Session, data: dict[str, Any]) -> dict[str, Any]:
    organisation = organisation_of(services, session)
    user = organisation.user(session.user_key)
    if user is None or user.role != "admin":
        raise NotPermitted(MSG_ADMIN)
    organisation.change_profile(data["organisation"], data["address"], data["main_user"], by=user.key)
    save(services, organisation)
    return show(services, session)
