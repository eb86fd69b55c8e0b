"""Vertrag: show the contract, change the plan (Vertragswechsel), cancel (Kündigung) and revoke the
cancellation (Kündigung widerrufen), each confirmed by e-mail to the main user. Only administrators may."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application import access_log
from application import fresh as fr
from application.access import Session
from application.errors import EventKeyDestroyed, NotFound, NotPermitted
from application.services import Services
from domain.billing import Invoice
from domain.contract import Contract
from domain.notice import contract_end_date
from domain.organisation import Organisation
from domain.plans import PLANS

log = logging.getLogger("sprechzimmer.contracts")
MSG_ADMIN_ONLY = "Nur Administratoren dürfen den Vertrag einsehen und ändern."


@dataclass(frozen=True)
class ContractView:
    plan: str  # in force today
    concluded_on: str
    next_plan: str | None
    next_plan_from: str | None
    bank: dict[str, Any] | None  # IBAN masked
    creditor_id: str
    cancelled_on: str | None
    ends_on: str | None
    erasure_on: str | None
    revocable: bool
    # What a cancellation today would end on (None once cancelled), so the confirmation dialog shows the
    # server's own date instead of a second implementation of the notice rule.
    cancellation_ends_on: str | None
    prices: dict[str, dict[str, str]]  # plan → monthly price per user and price per SMS, net, "19.00"


def today(services: Services) -> date:
    """The Berlin date of the injectable clock (Services.today), as everywhere else."""
    return services.today()


def de_date(day: date | str) -> str:
    return (date.fromisoformat(day) if isinstance(day, str) else day).strftime("%d.%m.%Y")


def mask_iban(iban: str) -> str:
    return iban[:4] + " **** **** " + iban[-4:] if len(iban) > 8 else "****"


def _creditor_id(services: Services) -> str:
    return services.contracts.billing.creditor_id if services.contracts else ""


def _admin(services: Services, session: Session) -> tuple[Organisation, Contract]:
    organisation: Organisation | None = services.events.get(session.org_id, Organisation)
    user = organisation.user(session.user_key) if organisation else None
    if organisation is None or user is None or user.role != "admin":
        raise NotPermitted(MSG_ADMIN_ONLY)
    contract: Contract | None = services.events.get(Contract.id_for(session.org_id), Contract)
    if contract is None:
        raise NotFound("Für diese Organisation besteht kein Vertrag.")
    return organisation, contract


def _confirmed_admin(services: Services, session: Session, proof: dict[str, str],
                     action: str) -> tuple[Organisation, Contract]:
    """Plan changes and cancellation are sensitive actions (design/crypto.md §4.2): a fresh signature of the
    session's device over a fresh nonce, bound to the action and the organisation, so that a stolen session
    token alone cannot cancel a practice's contract (and so schedule the erasure of its data)."""
    fr.verify(services, session, proof, action, str(session.org_id))
    return _admin(services, session)


def view(services: Services, contract: Contract) -> ContractView:
    day = today(services)
    pending = contract.pending_change(day)
    bank = None
    if contract.bank:
        bank = {"account_holder": contract.bank["holder"], "iban": mask_iban(contract.bank["iban"]),
                "bic": contract.bank["bic"], "mandate_reference": contract.bank["mandate_reference"],
                "mandate_signed_on": contract.bank["mandate_signed_on"]}
    end = contract.end_date
    return ContractView(
        plan=contract.plan_on(day), concluded_on=contract.concluded_on,
        next_plan=pending[1] if pending else None, next_plan_from=pending[0].isoformat() if pending else None,
        bank=bank, creditor_id=_creditor_id(services), cancelled_on=contract.cancelled_on, ends_on=contract.ends_on,
        erasure_on=(end + timedelta(days=1)).isoformat() if end else None,
        revocable=end is not None and day <= end,
        cancellation_ends_on=None if contract.is_cancelled else contract_end_date(day).isoformat(),
        prices={name: {"per_user": str(plan.monthly_price_per_user), "per_sms": str(plan.sms_price)}
                for name, plan in PLANS.items()},
    )


def show(services: Services, session: Session) -> ContractView:
    _, contract = _admin(services, session)
    return view(services, contract)


def main_user_email(organisation: Organisation) -> str:
    return str(organisation.profile["main_user"]["email"])


def notify(services: Services, organisation: Organisation, subject: str, body: str) -> bool:
    """The change is already saved; a mail server that is down must not undo it, so failure is logged."""
    access_log.note_for(services, organisation, "contract", change=subject)
    try:
        services.mailer.send(main_user_email(organisation), subject, body)
        return True
    except OSError as error:
        # The error's text can name the recipient's address: log only what kind of failure it was.
        log.warning("confirmation mail not sent: %s (%s)", subject, type(error).__name__)
        return False


def _greeting(organisation: Organisation) -> str:
    return f"Guten Tag,\n\ndies betrifft die Organisation {organisation.profile['organisation']['name']} " \
           f"(Kurzname {organisation.short_name}).\n\n"


def upgrade(services: Services, session: Session, billing: dict[str, Any], proof: dict[str, str]) -> ContractView:
    """basis → plus from today, with the SEPA mandate given now (billing has passed BillingSchema)."""
    organisation, contract = _confirmed_admin(services, session, proof, "contract-upgrade")
    day = today(services)
    contract.upgrade(day, {
        "holder": billing["account_holder"], "iban": billing["iban"], "bic": billing["bic"],
        "mandate_reference": Contract.mandate_reference(session.org_id), "mandate_signed_on": day.isoformat(),
    })
    services.commit(contract)
    notify(services, organisation, "Vertragswechsel zum Tarif plus",
           _greeting(organisation) + f"ab dem {de_date(day)} gilt der Tarif plus. Die Beiträge werden monatlich per "
           f"SEPA-Lastschrift eingezogen (Mandatsreferenz {Contract.mandate_reference(session.org_id)}, "
           f"Gläubiger-ID {_creditor_id(services)}).\n\nIhr Sprechzimmer-Team\n")
    return view(services, contract)


def downgrade(services: Services, session: Session, proof: dict[str, str]) -> ContractView:
    """plus → basis at the end of the month; the bank data goes once that month is invoiced."""
    organisation, contract = _confirmed_admin(services, session, proof, "contract-downgrade")
    effective = contract.downgrade(today(services))
    services.commit(contract)
    notify(services, organisation, "Vertragswechsel zum Tarif basis",
           _greeting(organisation) + f"ab dem {de_date(effective)} gilt der Tarif basis. Bis dahin können Sie alle "
           "Funktionen des Tarifs plus nutzen. Nach der letzten Abrechnung werden Ihre Bankdaten gelöscht."
           "\n\nIhr Sprechzimmer-Team\n")
    return view(services, contract)


def cancel(services: Services, session: Session, confirmed: bool, proof: dict[str, str]) -> ContractView:
    organisation, contract = _confirmed_admin(services, session, proof, "contract-cancel")
    ends = contract.cancel(today(services), confirmed)
    services.commit(contract)
    notify(services, organisation, "Kündigungsbestätigung",
           _greeting(organisation) + f"wir bestätigen Ihre Kündigung. Ihr Vertrag endet zum {de_date(ends)}. Bis "
           "dahin können Sie alle Funktionen in vollem Umfang nutzen. Nach Ablauf der Kündigungsfrist werden Ihr "
           "Benutzerkonto und alle von Ihnen erfassten Daten unwiderruflich gelöscht!\n\nBis zum "
           f"{de_date(ends)} können Sie die Kündigung unter Vertrag → „Kündigung widerrufen“ zurücknehmen."
           "\n\nIhr Sprechzimmer-Team\n")
    return view(services, contract)


def revoke(services: Services, session: Session) -> ContractView:
    organisation, contract = _admin(services, session)
    contract.revoke_cancellation(today(services))
    services.commit(contract)
    notify(services, organisation, "Widerruf Ihrer Kündigung",
           _greeting(organisation) + "Ihre Kündigung ist widerrufen. Ihr Vertrag läuft unverändert weiter, Ihre Daten "
           "werden nicht gelöscht. Bitte beachten Sie, dass auch die Kündigungsfrist zurückgesetzt ist."
           "\n\nIhr Sprechzimmer-Team\n")
    return view(services, contract)


def last_plus_month(contract: Contract) -> str | None:
    """The month before basis took over for good, if the organisation ever had plus."""
    if contract.final_plan != "basis" or all(plan != "plus" for _, plan in contract.schedule):
        return None
    basis_from = max(contract.schedule, key=lambda entry: entry[0])[0]
    return (basis_from - timedelta(days=1)).strftime("%Y-%m")


def retire_bank_data(services: Services) -> int:
    """Daily job: after a downgrade, delete the bank data from the current state once basis applies and the
    last plus month is invoiced (the invoice keeps its own copy for the debit)."""
    if services.contracts is None:
        return 0
    day, done = today(services), 0
    for org_id in services.contracts.directory.organisations(final_plan="basis"):
        contract = _contract(services, org_id)
        if contract is None or not contract.bank_data_obsolete(day):
            continue
        month = last_plus_month(contract)
        if month is not None and services.events.get(Invoice.id_for(org_id, month), Invoice) is None:
            continue  # billing for that month has not run yet; it needs the mandate
        contract.delete_bank_data(day)
        services.commit(contract)
        done += 1
    return done


def load(services: Services, aggregate_id: UUID, kind: type | None = None) -> Any | None:
    """Like events.get, but an organisation whose key is already destroyed (an erasure in progress) has
    nothing left to load."""
    try:
        return services.events.get(aggregate_id, kind)
    except EventKeyDestroyed:
        return None


def _contract(services: Services, org_id: UUID) -> Contract | None:
    contract: Contract | None = load(services, Contract.id_for(org_id), Contract)
    return contract
