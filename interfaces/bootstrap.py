"""The single place that wires adapters to use cases, for the server, the CLI and the tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from application import audit, billing, contracts, erasure, retention, retention_archive
from application.appointments import APPOINTMENT_JOBS
from application.eventstore import EventStore
from application.jobs import CORE_JOBS, Job
from application.ports import BillingSetup, ContractPorts
from application.services import Clock, Services, utc_now
from domain.base import configure_server_ids
from infrastructure import crypto, legal_texts
from infrastructure.access_log import SqlAccessLog
from infrastructure.audit_chain import AuditKey, ChainStore, recorder_topic
from infrastructure.auditor_tokens import AuditorTokens
from infrastructure.billing_documents import SepaAndPdfDocuments
from infrastructure.ephemeral import SqlEphemeral
from infrastructure.erasure_store import SqlOrgDataPurger
from infrastructure.event_cipher import PerOrganisationCipherMapper
from infrastructure.keystore import Keystore
from infrastructure.mail import OutboxMailer, SmtpMailer
from infrastructure.outbox import SqlOutbox
from infrastructure.readmodel_cipher import ReadModelCipher
from infrastructure.reminder_numbers import SqlReminderNumbers
from infrastructure.retention_archive import SqlRetentionArchive
from infrastructure.scheduler import Scheduler
from infrastructure.settings import Settings, audit_seed, check_deployment, load_settings, retention_seed
from infrastructure.sms import HttpSmsGateway, OutboxSms
from infrastructure.sql import Database, open_database, private_dir, private_file, schema_lock
from interfaces.call_wiring import CallComponents, call_components
from projections.appointments import AppointmentCalendar, AppointmentQueries
from projections.contracts import ContractSchedule, InvoiceIndex, SqlContractDirectory, UsageCounts
from projections.devices import DeviceDirectory, NoticeBoard, UserDirectory
from projections.logins import LoginNames, SqlLoginDirectory
from projections.organisations import OrganisationDirectory
from projections.runner import ProjectionRunner
from sprechzimmer_protocol.primitives import box_key, box_pk

log = logging.getLogger("sprechzimmer.bootstrap")


def event_store_env(settings: Settings) -> dict[str, str]:
    """Persistence is always chosen explicitly: unset, the library would silently keep events in memory."""
    # The recorder writes each event's audit-chain row in the event's own transaction (issue 14).
    chained = {"APPLICATION_RECORDER_TOPIC": recorder_topic(settings.database_url)}
    if settings.database_url is None:
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(settings.data_dir / "events.sqlite"), "SQLITE_LOCK_TIMEOUT": "10", **chained}
    url = urlparse(settings.database_url)
    return {
        **chained,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "8",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_CONNECT_TIMEOUT": "10",
        # The library's DDL runs in every process, serialised by build()'s schema lock.
        "CREATE_TABLE": "y",
    }


@dataclass
class Container:
    settings: Settings
    services: Services
    projections: ProjectionRunner
    scheduler: Scheduler
    state_db: Database
    keystore_db: Database
    calls: CallComponents | None = None  # signalling hub, call log, join resolver (set in build)
    warnings: tuple[str, ...] = ()  # unsafe shortcuts allowed by SPRECHZIMMER_INSECURE_DEV=1 (shown in the status)
    chain: ChainStore | None = None  # the audit chain and its signed checkpoints (issue 14)
    audit_key: AuditKey | None = None
    auditor_tokens: AuditorTokens | None = None

    def close(self) -> None:
        self.scheduler.stop()
        self.projections.stop()
        self.services.events.close()
        self.state_db.close()
        if self.keystore_db is not self.state_db:
            self.keystore_db.close()


def build(settings: Settings | None = None, clock: Clock = utc_now, catch_up_after_save: bool = True,
          web_worker: bool = False) -> Container:
    """Constructs everything; call it after gunicorn has forked, never before (connection pools). Every process
    (web workers, worker, CLI) may be the first on an empty database: the schema is created under a lock."""
    settings = settings or load_settings()
    configure_server_ids(settings.secrets.pepper_code)  # before any deterministic id is computed (§8a.12)
    warnings = check_deployment(settings)  # raises UnsafeDeployment before anything is opened
    for warning in warnings:
        log.warning("UNSICHER (%s=1): %s", "SPRECHZIMMER_INSECURE_DEV", warning)
    with schema_lock(settings.database_url):
        container = _build(settings, clock, catch_up_after_save, web_worker)
    container.warnings = tuple(warnings)
    return container


def _build(settings: Settings, clock: Clock, catch_up_after_save: bool, web_worker: bool = False) -> Container:
    private_dir(settings.data_dir)
    if settings.database_url is None:
        private_file(settings.data_dir / "events.sqlite")
    state_db = open_database(settings.database_url, settings.data_dir / "state.sqlite")
    if settings.keystore_url and settings.keystore_url == settings.database_url:
        keystore_db = state_db
    else:
        keystore_db = open_database(settings.keystore_url, settings.data_dir / "keystore.sqlite")
    keystore = Keystore(keystore_db, settings.secrets.kek)
    events = EventStore(event_store_env(settings),
                        lambda transcoder: PerOrganisationCipherMapper(transcoder, keystore))
    chain = ChainStore(settings.database_url, settings.data_dir)
    chain.backfill()  # events stored before the chain existed (an upgrade)
    audit_key = AuditKey(audit_seed(settings.secrets))
    runner = ProjectionRunner(events, state_db, [
        OrganisationDirectory(), ContractSchedule(), InvoiceIndex(), UsageCounts(), AppointmentCalendar(),
        DeviceDirectory(ReadModelCipher(keystore)), UserDirectory(ReadModelCipher(keystore)),
        NoticeBoard(lambda stored: retention.open_metadata(keystore, crypto, stored)),
        LoginNames()])
    jobs: list[Job] = [*CORE_JOBS, *APPOINTMENT_JOBS, Job("billing", 3600, billing.monthly_job),
                       Job("bank-data", 3600, contracts.retire_bank_data), Job("erasure", 3600, erasure.job),
                       Job("retention", 86400, retention.prune_metadata),
                       Job("retention-archive", 86400, retention_archive.job),
                       Job("audit-checkpoint", 60, lambda services: int(
                           audit.take_checkpoint(chain, audit_key, services.clock()) is not None))]
    ephemeral = SqlEphemeral(state_db)
    outbox = SqlOutbox(state_db, now=lambda: clock().timestamp())
    billing_setup = BillingSetup(settings.creditor_name, settings.creditor_iban, settings.creditor_bic,
                                 settings.creditor_id, settings.seller_address, settings.seller_vat_id,
                                 settings.data_dir / "billing", settings.prenotification_days,
                                 box_pk(box_key(retention_seed(settings.secrets))), settings.retention_years)
    services = Services(
        events=events, keystore=keystore, ephemeral=ephemeral, crypto=crypto,
        pepper_code=settings.secrets.pepper_code, fake_salt_key=settings.secrets.fake_salt_key,
        origins=settings.origins, clock=clock,
        mailer=OutboxMailer(SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from), outbox),
        outbox=outbox,
        session_idle_seconds=settings.session_idle_seconds,
        session_absolute_seconds=settings.session_absolute_seconds,
        contracts=ContractPorts(
            directory=SqlContractDirectory(state_db),
            purger=SqlOrgDataPurger(events, state_db, keystore_db, runner, ephemeral, settings.database_url,
                                    settings.data_dir, clock),
            billing=billing_setup,
            documents=SepaAndPdfDocuments(billing_setup),
            archive=SqlRetentionArchive(state_db),
        ),
        sms=OutboxSms(HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_sender),
                      outbox) if settings.sms_gateway_url else None,
        appointment_views=AppointmentQueries(state_db), reminder_numbers=SqlReminderNumbers(state_db),
        logins=SqlLoginDirectory(state_db, ReadModelCipher(keystore)), legal_versions=legal_texts.current_versions(),
        access_log=SqlAccessLog(state_db),
    )
    if catch_up_after_save and web_worker and not settings.embedded:
        # PostgreSQL web workers leave the log to `sprechzimmer worker` (woken by NOTIFY) and only wait for it
        # (read-your-writes); a worker that is not running or far behind is taken over after a while.
        services.after_save = lambda position: runner.wait_or_catch_up(position)
    elif catch_up_after_save:  # read-your-writes; safe with several processes (row lock on the position)
        services.after_save = runner.catch_up_to
    return Container(settings, services, runner, Scheduler(services, jobs), state_db, keystore_db,
                     calls=call_components(settings, state_db, services), chain=chain, audit_key=audit_key,
                     auditor_tokens=AuditorTokens(state_db, settings.secrets.pepper_code))
