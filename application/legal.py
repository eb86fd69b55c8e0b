"""Zustimmung zu Nutzungsbedingungen und Auftragsverarbeitungsvertrag: which versions an organisation accepted,
which newer versions still need acceptance (asked at login), and recording the acceptance.

The current versions come from the legal texts (legal/*.md) through `Services.legal_versions`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from application.access import Session
from application.errors import Invalid, NotPermitted
from application.plans import require_feature
from application.services import Services
from domain.organisation import Organisation
from domain.plans import Feature

# Texts a practice agrees to; Datenschutzerklärung and Impressum only inform.
TO_ACCEPT = ("nutzungsbedingungen", "avv")
MSG_ADMIN_ONLY = "Nur Administratoren können Nutzungsbedingungen und Auftragsverarbeitungsvertrag zustimmen."
MSG_OUTDATED = "Diese Fassung ist nicht (mehr) aktuell; bitte die aktuelle Fassung lesen und ihr zustimmen."
MSG_UNKNOWN = "Diesem Dokument kann nicht zugestimmt werden."


@dataclass(frozen=True)
class Pending:
    document: str
    version: str


def required(services: Services) -> dict[str, str]:
    return {name: version for name, version in services.legal_versions.items() if name in TO_ACCEPT}


def check_versions(services: Services, accepted: dict[str, str] | None, prefix: str = "documents") -> dict[str, str]:
    """The versions a registration or an acceptance records: the current ones. A client that names versions
    (the ones it showed) must name the current ones, so nobody accepts a text they did not see."""
    current = required(services)
    for name, version in (accepted or {}).items():
        if name not in current:
            raise Invalid(MSG_UNKNOWN, f"{prefix}.{name}")
        if version != current[name]:
            raise Invalid(MSG_OUTDATED, f"{prefix}.{name}")
    return current


def pending_for(services: Services, organisation: Organisation) -> list[Pending]:
    return pending_given(services, organisation.accepted_legal)


def pending_given(services: Services, accepted: dict[str, str]) -> list[Pending]:
    """What the login answer lists as needing acceptance (an organisation registered before a new version)."""
    return [Pending(name, version) for name, version in required(services).items()
            if accepted.get(name) != version]


def accept(services: Services, session: Session, documents: dict[str, str]) -> list[Pending]:
    """Records the acceptance of the named (current) versions; returns what still needs acceptance."""
    organisation: Organisation | None = services.events.get(session.org_id, Organisation)
    user = organisation.user(session.user_key) if organisation else None
    if organisation is None or user is None or user.role != "admin":
        raise NotPermitted(MSG_ADMIN_ONLY)
    if not documents:
        raise Invalid("Bitte mindestens ein Dokument nennen.", "documents")
    current = check_versions(services, documents)
    new = {name: current[name] for name in documents if organisation.accepted_legal.get(name) != current[name]}
    if new:
        organisation.accept_legal(new, by=session.user_key, on=services.today().isoformat())
        services.commit(organisation)
    return pending_for(services, organisation)


@dataclass(frozen=True)
class AvvAcceptance:
    practice_name: str
    practice_address: tuple[str, ...]
    version: str
    accepted_on: date


def avv_acceptance(services: Services, session: Session) -> AvvAcceptance:
    """For the written confirmation of the AVV (a plus feature, for administrators)."""
    organisation: Organisation | None = services.events.get(session.org_id, Organisation)
    user = organisation.user(session.user_key) if organisation else None
    if organisation is None or user is None or user.role != "admin":
        raise NotPermitted(MSG_ADMIN_ONLY)
    require_feature(services, session.org_id, Feature.AVV_CONFIRMATION)
    version = organisation.accepted_legal.get("avv")
    confirmations = organisation.profile.get("confirmations") or {}
    if not version or not confirmations.get("avv_accepted_on"):
        raise Invalid("Die Organisation hat dem Auftragsverarbeitungsvertrag noch nicht zugestimmt.", "avv")
    address = organisation.profile.get("address") or {}
    street = " ".join(str(address.get(key) or "") for key in ("street", "number")).strip()
    lines = tuple(line for line in (street, str(address.get("addition") or ""),
                                    f"{address.get('postcode', '')} {address.get('city', '')}".strip()) if line)
    return AvvAcceptance(str((organisation.profile.get("organisation") or {}).get("name") or organisation.short_name),
                         lines, version, date.fromisoformat(confirmations["avv_accepted_on"]))
