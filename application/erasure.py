"""Löschung at the contract's end (design/crypto.md §4.11): the day after the end date the organisation is
erased — first the main user gets a deletion confirmation, then its sessions end, its key is destroyed (every
copy of its events, in any backup, is unreadable from then on), its events, snapshots, read-model rows and
ephemeral state are deleted, the database files are scrubbed, and a receipt without personal data remains.
Only what bookkeeping must keep — invoices and SEPA mandate evidence — moves into the sealed retention archive
first (application/retention_archive.py, § 147 AO, § 14b UStG).

Crash safety: every step is idempotent and the order is chosen so that a rerun finds the remaining work. The
deletion confirmation goes through the outbox under a key of its own: a rerun after a crash between sending it
and recording the receipt does not mail the practice a second time.
The organisation stays in the erasure schedule (read model `rm_contracts`) until the very last step, and the
receipt's `Started` event is written before anything irreversible; a rerun after a crash anywhere in between
resumes from the first unfinished step and completes the erasure."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from application import retention_archive
from application.contracts import _contract, de_date, load, main_user_email, today
from application.services import Services
from domain.billing import Invoice
from domain.erasure import ErasureReceipt
from domain.organisation import Organisation
from domain.plans import PLUS

log = logging.getLogger("sprechzimmer.erasure")

SCHEDULE = "contracts"  # the read model that lists what is due; forgotten last
Fault = Callable[[str], None]  # tests inject a crash after a named step


@dataclass
class ErasurePlan:
    org_id: UUID  # as `sprechzimmer events` shows it, so the operator can match the two; never in the receipt
    org_hash: str
    ends_on: date
    events: int
    status: str  # "due", "waiting for final invoice", "erased", "resumed"
    deleted: dict[str, Any] = field(default_factory=dict)


def org_hash(services: Services, org_id: UUID) -> str:
    """Identifies the organisation in the receipt without naming it (org ids are random, 122 bits)."""
    return services.crypto.h("vdc/v1/erasure-receipt", str(org_id)).hex()


def _organisation(services: Services, org_id: UUID) -> Organisation | None:
    organisation: Organisation | None = load(services, org_id)
    return organisation


def _final_invoice_missing(services: Services, org_id: UUID, ends_on: date) -> bool:
    """A plus organisation's last month is billed (and its mandate used) before its data goes."""
    contract = _contract(services, org_id)
    if contract is None or contract.plan_on(ends_on) != PLUS:
        return False
    return load(services, Invoice.id_for(org_id, ends_on.strftime("%Y-%m"))) is None


def erase(services: Services, org_id: UUID, ends_on: date, dry_run: bool = False,
          fault: Fault | None = None) -> ErasurePlan:
    assert services.contracts is not None
    ports = services.contracts
    hashed = org_hash(services, org_id)
    receipt: ErasureReceipt | None = services.events.get(ErasureReceipt.id_for(hashed))
    plan = ErasurePlan(org_id, hashed, ends_on, ports.purger.count_events(org_id), "resumed" if receipt else "due")
    if receipt is None and _final_invoice_missing(services, org_id, ends_on):
        plan.status = "waiting for final invoice"
        return plan
    if dry_run:
        return plan
    step = fault or (lambda name: None)

    organisation = _organisation(services, org_id)
    short_name = organisation.short_name if organisation else None
    services.ephemeral.delete_sessions(org_id)  # nobody works on while the data goes
    step("sessions")
    if services.keystore.exists(org_id):  # while the invoices can still be read; a rerun finds them in place
        retention_archive.archive_practice(services, org_id, hashed)
    step("archive")
    if receipt is None:
        if organisation is not None:
            services.mailer.send(
                main_user_email(organisation), "Bestätigung der Löschung Ihrer Daten",
                f"Guten Tag,\n\nIhr Vertrag für die Organisation {organisation.short_name} ist zum "
                f"{de_date(ends_on)} ausgelaufen. Wie angekündigt löschen wir jetzt Ihr Benutzerkonto und alle von "
                "Ihnen erfassten Daten unwiderruflich: Der Schlüssel Ihrer Daten wird vernichtet, alle Ereignisse, "
                "Benutzer, Endgeräte, Termine und Zugangscodes werden gelöscht. Es bleibt nur ein Löschprotokoll "
                "ohne personenbezogene Daten.\n\nVielen Dank, dass Sie Sprechzimmer genutzt haben.\n"
                "Ihr Sprechzimmer-Team\n", key="erasure-confirmation:" + hashed)  # sent once, also on reruns
        step("mail")
        receipt = ErasureReceipt.start(hashed, ends_on.isoformat(), services.clock().isoformat(),
                                       ports.purger.count_events(org_id))
        services.commit(receipt)
    step("receipt-started")
    key_destroyed = services.keystore.destroy(org_id)
    step("key")
    deleted: dict[str, Any] = {"key_destroyed": key_destroyed or not services.keystore.exists(org_id)}
    deleted.update(ports.purger.delete_events(org_id))
    step("events")
    deleted["read_models"] = ports.purger.forget(org_id, short_name, skip=(SCHEDULE,))
    step("read-models")
    ports.purger.scrub()
    step("scrub")
    receipt.complete(services.clock().isoformat(), deleted)
    services.commit(receipt)
    step("receipt-completed")
    # A request that was already running when the sessions ended may have saved one more event (another
    # process can hold the key in its cache for a few seconds): sweep once more before leaving the schedule.
    late = ports.purger.delete_events(org_id)
    if any(late.values()):
        log.warning("erasure: %s late events of an erased organisation deleted", sum(late.values()))
    ports.purger.forget(org_id, None, only=(SCHEDULE,))
    ports.purger.scrub()
    plan.status, plan.deleted = "erased", deleted
    log.info("organisation erased (receipt %s)", hashed[:16])
    return plan


def run_due(services: Services, dry_run: bool = False, fault: Fault | None = None) -> list[ErasurePlan]:
    """`sprechzimmer erasure run [--dry-run]` and the hourly job: every contract whose end date has passed."""
    if services.contracts is None:
        return []
    return [erase(services, org_id, ends_on, dry_run, fault)
            for org_id, ends_on in services.contracts.directory.due_for_erasure(today(services))]


HALT_ENV = "SPRECHZIMMER_TEST_HALT_ERASURE_AFTER"
"""Test hook for the crash test with a real `kill -9`: the worker hangs after the named step, so the test can
kill it at a known point. Unset in production."""


def _halt_after(step_name: str) -> Fault:
    def step(name: str) -> None:
        if name == step_name:
            log.warning("%s=%s: halting the erasure (test hook)", HALT_ENV, step_name)
            time.sleep(3600)

    return step


def job(services: Services) -> int:
    halt = os.environ.get(HALT_ENV)
    return sum(1 for plan in run_due(services, fault=_halt_after(halt) if halt else None) if plan.status == "erased")
