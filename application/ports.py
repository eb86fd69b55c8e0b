"""The small interfaces through which infrastructure plugs into the use cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from domain.billing import Invoice
from domain.invoice import InvoiceAmounts

Clock = Callable[[], datetime]


class Keystore(Protocol):
    def create(self, org_id: UUID) -> None: ...
    def destroy(self, org_id: UUID) -> bool: ...
    def exists(self, org_id: UUID) -> bool: ...
    def read_model_key(self, org_id: UUID) -> bytes | None: ...  # K_rm; None once the org is erased
    # the key sealing event metadata of one calendar month ("YYYY-MM"); None once retention destroyed it
    def metadata_key(self, period: str, create: bool = True) -> bytes | None: ...


@dataclass(frozen=True)
class SessionRecord:
    org_id: UUID
    user_key: str
    device_id: str
    created: float
    last_seen: float


class Ephemeral(Protocol):
    """Short-lived server state that is not history: challenges, sessions, throttle counters."""

    def put_challenge(self, challenge_id: str, purpose: str, data: dict[str, Any], expires: float) -> None: ...
    def pop_challenge(self, challenge_id: str, purpose: str, now: float) -> dict[str, Any] | None: ...

    def add_session(self, token_hash: str, record: SessionRecord) -> None: ...
    def get_session(self, token_hash: str) -> SessionRecord | None: ...
    def touch_session(self, token_hash: str, now: float) -> None: ...
    def delete_session(self, token_hash: str) -> None: ...
    def delete_sessions(self, org_id: UUID, user_key: str | None = None, keep: str | None = None) -> int: ...
    def delete_device_sessions(self, org_id: UUID, device_id: str) -> int: ...

    def record_hit(self, key: str, now: float) -> None: ...
    def hits_since(self, key: str, since: float) -> tuple[int, float | None]: ...  # count, oldest
    def failures(self, account: str) -> tuple[int, float]: ...  # count, last failure
    def set_failures(self, account: str, count: int, now: float) -> None: ...
    def prune(self, before: float) -> None: ...


class Crypto(Protocol):
    """infrastructure.crypto satisfies this (a module as the implementation). Signed-message layouts are not
    part of it: the use cases take them from sprechzimmer_protocol.layouts, as every client does."""

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool: ...
    def h(self, *fields: Any, key: bytes = b"") -> bytes: ...
    def random_bytes(self, n: int) -> bytes: ...
    def fake_salt(self, fake_salt_key: bytes, org: str, user: str) -> bytes: ...
    def invite_tag(self, token: bytes, pepper: bytes) -> bytes: ...
    def normalise_code(self, text: str) -> str: ...  # raises ValueError for a malformed code
    def join_token(self, code: str) -> bytes: ...
    def access_code_tag(self, join: bytes, pepper: bytes) -> bytes: ...
    def aead_encrypt(self, key: bytes, plaintext: bytes, aad: bytes) -> bytes: ...
    def aead_decrypt(self, key: bytes, nonce_ct: bytes, aad: bytes) -> bytes: ...
    def lp(self, *fields: Any) -> bytes: ...
    def seal(self, recipient_box_pk: bytes, plaintext: bytes) -> bytes: ...


class AccessLog(Protocol):
    """The practice's access log (application/access_log.py): sealed entries per organisation."""

    def add(self, org_id: UUID, at: float, sealed: bytes) -> None: ...
    def entries(self, org_id: UUID, limit: int) -> list[dict[str, Any]]: ...


class Mailer(Protocol):
    # `key` names the side effect: a mail sent once under a key is never sent again (infrastructure/outbox.py);
    # `attachments`: (file name, MIME type, bytes), e.g. the invoice PDF of the SEPA pre-notification
    def send(self, to: str, subject: str, body: str, key: str | None = None,
             attachments: list[tuple[str, str, bytes]] | None = None) -> None: ...


class Outbox(Protocol):
    def retry_pending(self) -> int: ...  # sends what is still pending; returns how many went out


@dataclass(frozen=True)
class JoinGrant:
    """What a valid join token (design/crypto.md §4.10a) entitles its holder to: one role in one appointment."""

    org_id: UUID
    appointment_id: UUID
    role: str  # "practitioner" | "patient"
    starts_at: datetime
    ends_at: datetime
    slot: str  # the code's seat: "practitioner", "patient", "patient-2", "patient-3" (one seat per code, §8a.6)
    seats: int  # seats of the call: as many as the appointment has codes
    # Einwilligung recorded (Art. 9 DSGVO; by the practice or on the patient page): without it no patient
    # enters the waiting room. False unless a resolver knows better.
    consented: bool = False


class JoinResolver(Protocol):
    def __call__(self, join_token: bytes) -> JoinGrant | None: ...


class ContractDirectory(Protocol):
    """Queries over the contract context's read models (projections/contracts.py)."""

    def organisations(self, final_plan: str | None = None) -> list[UUID]: ...
    def due_for_erasure(self, today: date) -> list[tuple[UUID, date]]: ...
    def invoice_months(self, org_id: UUID) -> list[str]: ...
    def usage(self, org_id: UUID, month: str, kind: str) -> int: ...
    def invoiced(self, month: str) -> set[UUID]: ...
    def usage_of_month(self, month: str, kind: str) -> dict[UUID, int]: ...


class OrgDataPurger(Protocol):
    """Deletes what an erased organisation left in storage (infrastructure/erasure_store.py). Every method is
    idempotent: run twice, the second run finds nothing and returns zero counts."""

    def count_events(self, org_id: UUID) -> int: ...
    def delete_events(self, org_id: UUID) -> dict[str, int]: ...  # events (and snapshots, if any)
    def forget(self, org_id: UUID, short_name: str | None, only: tuple[str, ...] | None = None,
               skip: tuple[str, ...] = ()) -> dict[str, int]: ...  # read models and ephemeral state
    def scrub(self) -> None: ...  # make deleted bytes unrecoverable from the database files
    def prune_before(self, cutoff: datetime) -> dict[str, int]: ...  # metadata retention


@dataclass(frozen=True)
class BillingSetup:
    """The operator as seller and SEPA creditor, and where the monthly files go (SPRECHZIMMER_DATA_DIR)."""

    creditor_name: str
    creditor_iban: str
    creditor_bic: str
    creditor_id: str
    seller_address: tuple[str, ...]
    seller_vat_id: str
    out_dir: Path
    prenotification_days: int = 14  # the invoice is mailed this long before the debit (terms of use § 5)
    # X25519 public key of the operator's retention key: SEPA files and the retention archive are sealed to it
    retention_public_key: bytes = b""
    retention_years: int = 8  # after the end of the calendar year (§ 147 (3) AO, § 14b UStG)


class RetentionArchive(Protocol):
    """Invoices and mandate evidence of erased practices, sealed, until their period ends
    (infrastructure/retention_archive.py)."""

    def put(self, ref: str, kind: str, receipt: str, keep_until: date, sealed: bytes) -> None: ...
    def entries(self) -> list[tuple[str, str, str, date, bytes]]: ...  # ref, kind, receipt, keep_until, sealed
    def purge(self, today: date) -> int: ...


class BillingDocuments(Protocol):
    """Renders what the billing use cases decide: the month's SEPA file and an invoice's PDF."""

    def direct_debit_file(self, month: str, invoices: list[Invoice], created_at: datetime,
                          collection: date) -> bytes: ...
    def invoice_pdf(self, invoice: Invoice, amounts: InvoiceAmounts, collection: date) -> bytes: ...


@dataclass
class ContractPorts:
    directory: ContractDirectory
    purger: OrgDataPurger
    billing: BillingSetup
    documents: BillingDocuments
    archive: RetentionArchive | None = None


class SmsFailed(Exception):
    """The SMS gateway did not accept the message (network, status, timeout). Never carries the number."""


class SmsGateway(Protocol):
    def send(self, to: str, text: str, idempotency_key: str) -> None: ...  # raises SmsFailed


@dataclass(frozen=True)
class CalendarEntry:
    appointment_id: UUID
    starts_at: datetime
    ends_at: datetime
    status: str
    record: dict[str, Any]  # ciphertext only (kver, wrapped_dek, ciphertext, schema)
    consent: dict[str, Any] | None
    reminder: bool


@dataclass(frozen=True)
class DueReminder:
    org_id: UUID
    appointment_id: UUID
    reminder_id: str


class AppointmentViews(Protocol):
    """Queries on the appointment read models (projections/appointments.py)."""

    def between(self, org_id: UUID, start: datetime, end: datetime, limit: int,
                offset: int) -> tuple[list[CalendarEntry], int]: ...
    def due_reminders(self, now: datetime, limit: int = 100) -> list[DueReminder]: ...
    def sms_count(self, org_id: UUID, month: str) -> int: ...


class ReminderNumbers(Protocol):
    """Reminder phone numbers, as ciphertext under the organisation's K_rm, deleted once used."""

    def put(self, reminder_id: str, org_id: UUID, ciphertext: str) -> None: ...
    def get(self, reminder_id: str) -> str | None: ...
    def delete(self, reminder_id: str) -> None: ...


@dataclass(frozen=True)
class StoredUser:
    short_name: str
    role: str
    pw_salt: str
    pw_ops: int
    pw_mem: int
    pk_pw: str
    active: bool
    cert: str  # the org-signed user certificate; empty until an admin certifies an invited user


@dataclass(frozen=True)
class StoredDevice:
    name: str
    status: str
    dev_sign_pk: str
    dev_box_pk: str
    approved_at: str | None
    approver: str | None
    cert: str | None
    grant: dict[str, Any] | None  # the latest keyring grant; None once revoked
    approver_tag: str | None


@dataclass(frozen=True)
class LoginRecord:
    """What a login checks, as the read models have it; user or device None when the name is unknown."""

    org_id: UUID
    org_short: str
    org_sign_pk: str
    user: StoredUser | None
    device: StoredDevice | None


class LoginDirectory(Protocol):
    """One indexed query for known and unknown organisations alike (projections/logins.py): replaying the
    organisation's events instead made a known name measurably slower to answer (issue 10.4)."""

    def lookup(self, org: str, user: str, device_id: str) -> LoginRecord | None: ...
