"""Configuration from the environment. Every variable is listed in README.md."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from infrastructure import crypto


@dataclass(frozen=True)
class Secrets:
    """Server secrets of design/crypto.md §3 (class S): never in the event store, never logged."""

    kek: bytes  # wraps every organisation's K_shred in the keystore
    pepper_code: bytes  # keys the tags of access codes and invite codes
    fake_salt_key: bytes  # deterministic fake salts for unknown accounts
    # Ed25519 seed that signs the audit checkpoints (issue 14). None (tests that build Settings directly): a test
    # key derived from the KEK; load_secrets() always sets it.
    audit_key: bytes | None = None
    # X25519 private key of the retention archive and the SEPA files (issue 15.2): the server seals with its public
    # key; the operator's `billing sepa-export` opens. None (tests): a test key derived from the KEK.
    retention_key: bytes | None = None

    def __repr__(self) -> str:  # keeps secrets out of tracebacks and logs
        return "Secrets(<hidden>)"


# The operator's test identity (Bundesbank's sample creditor id, a sample IBAN, a placeholder VAT id): fine for
# trying Sprechzimmer out, never for invoices and direct debits that reach a bank (refused in PostgreSQL mode).
TEST_CREDITOR_ID = "DE98ZZZ09999999999"
TEST_CREDITOR_IBAN = "DE89370400440532013000"
TEST_SELLER_VAT_ID = "DE000000000"
INSECURE_DEV = "SPRECHZIMMER_INSECURE_DEV"
AUDIT_KEY = "SPRECHZIMMER_AUDIT_KEY"
RETENTION_KEY = "SPRECHZIMMER_RETENTION_KEY"
# Placeholders until the operator names its real contractors (SUBPROCESSORS): every kind the service uses.
DEFAULT_SUBPROCESSORS: tuple[tuple[str, str, str], ...] = (
    ("Hosting-Anbieter (SUBPROCESSORS setzen)", "Server, Datenbank, Sicherungen", "Deutschland (EU)"),
    ("E-Mail-Versand (SUBPROCESSORS setzen)", "Versand von E-Mails (SMTP)", "Deutschland (EU)"),
    ("SMS-Gateway (SUBPROCESSORS setzen)", "Versand von SMS-Einladungen (Tarif plus)", "Deutschland (EU)"),
    ("TURN-Relay (SUBPROCESSORS setzen)", "Weiterleitung verschlüsselter Medien (TURN)", "Deutschland (EU)"),
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None  # postgresql://… ; None selects the embedded SQLite store
    keystore_url: str | None
    origins: tuple[str, ...]  # web origins accepted inside signed transcripts
    secrets: Secrets = field(repr=False)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "Sprechzimmer <noreply@sprechzimmer.localhost>"
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 3600
    creditor_id: str = TEST_CREDITOR_ID
    # The operator as seller and SEPA creditor (invoices, pain.008 files); see README.md.
    creditor_name: str = "Sprechzimmer GmbH"
    creditor_iban: str = TEST_CREDITOR_IBAN
    creditor_bic: str = "COBADEFFXXX"
    seller_address: tuple[str, ...] = ("Musterstraße 1", "10115 Berlin")
    seller_vat_id: str = TEST_SELLER_VAT_ID
    sms_gateway_url: str | None = None  # None: SMS invitations and reminders are refused (503)
    sms_gateway_token: str | None = field(default=None, repr=False)
    sms_sender: str = "Praxis"
    # Calls: TURN servers with coturn REST credentials (use-auth-secret), STUN, heartbeat and reconnect grace.
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = field(default=None, repr=False)
    stun_urls: tuple[str, ...] = ()
    turn_ttl_seconds: int = 4 * 3600
    call_heartbeat_seconds: float = 10.0
    call_grace_seconds: float = 30.0
    # Where the KEK came from: False when it was read from (or generated into) secrets.json next to the data.
    kek_from_environment: bool = True
    audit_key_from_environment: bool = True  # False: generated into secrets.json (embedded mode only)
    retention_key_from_environment: bool = True  # likewise
    # Invoices and mandate evidence of an erased practice are kept this many years after the end of the calendar
    # year of the last invoice (§ 147 (3) AO, § 14b UStG), then the archive deletes them.
    retention_years: int = 8
    insecure_dev: bool = False  # SPRECHZIMMER_INSECURE_DEV=1: the checks below only warn
    # Reverse proxies whose X-Forwarded-For is believed; from anyone else the header is ignored, so a client
    # cannot choose the address every per-IP throttle counts under.
    trusted_proxies: tuple[str, ...] = ()
    operator_token: str | None = field(default=None, repr=False)  # shows the status page's details
    # The operator as named in the legal texts (legal/*.md, README.md): Impressum, Datenschutz, AVV.
    operator_name: str = "Sprechzimmer GmbH"
    operator_email: str = "datenschutz@sprechzimmer.localhost"
    operator_representative: str = "Vertreten durch die Geschäftsführung (OPERATOR_REPRESENTATIVE setzen)"
    operator_register: str = "Registergericht und Registernummer (OPERATOR_REGISTER setzen)"
    dpo_contact: str = "datenschutz@sprechzimmer.localhost"
    # (name and address, service, place of processing) of every sub-processor, listed in the AVV (Art. 28 (2)).
    subprocessors: tuple[tuple[str, str, str], ...] = DEFAULT_SUBPROCESSORS
    prenotification_days: int = 14  # SEPA pre-notification before the debit date, as the terms agree

    @property
    def embedded(self) -> bool:
        return self.database_url is None


class UnsafeDeployment(SystemExit):
    """The server, the worker and the operator's commands refuse to start with this configuration. A SystemExit:
    the process ends with the German message and status 1, without a traceback."""


def _same_database(a: str, b: str) -> bool:
    """Same server (loopback spelled any way) and same database name."""
    def where(url: str) -> tuple[str, int, str]:
        parsed = urlparse(url)
        host = (parsed.hostname or "localhost").lower()
        return ("localhost" if host in ("localhost", "127.0.0.1", "::1") else host, parsed.port or 5432,
                parsed.path.strip("/"))

    return where(a) == where(b)


def deployment_problems(settings: Settings) -> list[str]:
    """What PostgreSQL mode (production) must not run with. Crypto-shredding holds for backups only if a dump
    of the events database never holds the keys: the keystore lives in another database (whose backups are
    kept at most 7 days) and the KEK that unwraps it is not a file next to the data. The embedded store keeps
    its keys in a separate file (keystore.sqlite); README.md tells to back that up apart."""
    if settings.embedded:
        return []
    assert settings.database_url is not None
    problems = []
    if not settings.keystore_url or _same_database(settings.keystore_url, settings.database_url):
        problems.append("KEYSTORE_URL muss eine andere Datenbank als DATABASE_URL nennen: Eine Sicherung, die "
                        "Ereignisse und Schlüssel zusammen enthält, macht jede Löschung rückgängig.")
    if not settings.kek_from_environment:
        problems.append("SPRECHZIMMER_KEK muss aus der Umgebung kommen (z. B. aus einem KMS), nicht aus "
                        "secrets.json neben den Daten.")
    if not settings.audit_key_from_environment:
        problems.append("SPRECHZIMMER_AUDIT_KEY muss aus der Umgebung kommen: Mit einem Prüfschlüssel in "
                        "secrets.json neben den Daten könnte jeder mit Zugriff auf den Server den Verlauf "
                        "umschreiben und neu signieren.")
    if not settings.retention_key_from_environment:
        problems.append("SPRECHZIMMER_RETENTION_KEY muss aus der Umgebung kommen: Mit dem Schlüssel des "
                        "Aufbewahrungsarchivs neben den Daten wären Rechnungen und IBANs im Archiv und in den "
                        "SEPA-Dateien für jeden lesbar, der die Daten kopiert.")
    for name, value, test in (("SEPA_CREDITOR_ID", settings.creditor_id, TEST_CREDITOR_ID),
                              ("SEPA_CREDITOR_IBAN", settings.creditor_iban, TEST_CREDITOR_IBAN),
                              ("SELLER_VAT_ID", settings.seller_vat_id, TEST_SELLER_VAT_ID)):
        if value.replace(" ", "").upper() == test:
            problems.append(f"{name} ist der Testwert {test}: Rechnungen und Lastschriften brauchen die echten "
                            "Angaben des Betreibers.")
    return problems


def check_deployment(settings: Settings) -> list[str]:
    """Raises UnsafeDeployment, or, with SPRECHZIMMER_INSECURE_DEV=1, returns the problems as warnings."""
    problems = deployment_problems(settings)
    if problems and not settings.insecure_dev:
        raise UnsafeDeployment("Start verweigert (PostgreSQL-Betrieb):\n- " + "\n- ".join(problems)
                               + f"\nNur zum Entwickeln und Testen: {INSECURE_DEV}=1 erlaubt diese Abkürzungen.")
    return problems


def audit_seed(secrets: Secrets) -> bytes:
    """The audit key's seed; Settings built in code without one (tests) get a test key derived from the KEK."""
    return secrets.audit_key or crypto.h("vdc/v1/audit-test-key", secrets.kek)


def retention_seed(secrets: Secrets) -> bytes:
    """The retention archive's private key; Settings built in code (tests) get a test key derived from the KEK."""
    return secrets.retention_key or crypto.h("vdc/v1/retention-test-key", secrets.kek)


def _secret(name: str, stored: dict[str, str], env: dict[str, str]) -> bytes:
    value = env.get(name) or stored.get(name)
    if value is None:
        value = crypto.random_bytes(32).hex()
        stored[name] = value
    key = bytes.fromhex(value)
    if len(key) != 32:
        raise ValueError(f"{name} must be 32 bytes, hex-encoded")
    return key


def load_secrets(data_dir: Path, env: dict[str, str] | None = None) -> Secrets:
    """Secrets come from the environment; in a single-host set-up they are created once in a 0600 file."""
    env = dict(os.environ if env is None else env)
    path = data_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    before = dict(stored)
    secrets = Secrets(
        kek=_secret("SPRECHZIMMER_KEK", stored, env),
        pepper_code=_secret("SPRECHZIMMER_PEPPER", stored, env),
        fake_salt_key=_secret("SPRECHZIMMER_FAKE_SALT_KEY", stored, env),
        audit_key=_secret(AUDIT_KEY, stored, env),
        retention_key=_secret(RETENTION_KEY, stored, env),
    )
    if stored != before:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(stored, f)
    return secrets


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("SPRECHZIMMER_DATA_DIR", "var")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = env.get("DATABASE_URL") or None
    origins = tuple(
        o.strip().rstrip("/")
        for o in env.get("SPRECHZIMMER_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000").split(",")
        if o.strip()
    )
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        keystore_url=env.get("KEYSTORE_URL") or database_url,
        origins=origins,
        secrets=load_secrets(data_dir, env),
        smtp_host=env.get("SMTP_HOST", "127.0.0.1"),
        smtp_port=int(env.get("SMTP_PORT", "25")),
        mail_from=env.get("MAIL_FROM", "Sprechzimmer <noreply@sprechzimmer.localhost>"),
        creditor_id=env.get("SEPA_CREDITOR_ID", TEST_CREDITOR_ID),
        creditor_name=env.get("SEPA_CREDITOR_NAME", "Sprechzimmer GmbH"),
        creditor_iban=env.get("SEPA_CREDITOR_IBAN", TEST_CREDITOR_IBAN),
        creditor_bic=env.get("SEPA_CREDITOR_BIC", "COBADEFFXXX"),
        seller_address=tuple(line.strip() for line in env.get(
            "SELLER_ADDRESS", "Musterstraße 1|10115 Berlin").split("|") if line.strip()),
        seller_vat_id=env.get("SELLER_VAT_ID", TEST_SELLER_VAT_ID),
        sms_gateway_url=env.get("SMS_GATEWAY_URL") or None,
        sms_gateway_token=env.get("SMS_GATEWAY_TOKEN") or None,
        sms_sender=env.get("SMS_SENDER", "Praxis"),
        turn_urls=_urls(env.get("TURN_URLS", "")),
        turn_secret=env.get("TURN_SECRET") or None,
        stun_urls=_urls(env.get("STUN_URLS", "")),
        turn_ttl_seconds=int(env.get("TURN_TTL_SECONDS", str(4 * 3600))),
        call_heartbeat_seconds=float(env.get("CALL_HEARTBEAT_SECONDS", "10")),
        call_grace_seconds=float(env.get("CALL_GRACE_SECONDS", "30")),
        kek_from_environment=bool(env.get("SPRECHZIMMER_KEK")),
        audit_key_from_environment=bool(env.get(AUDIT_KEY)),
        retention_key_from_environment=bool(env.get(RETENTION_KEY)),
        retention_years=int(env.get("SPRECHZIMMER_RETENTION_YEARS", "8")),
        insecure_dev=env.get(INSECURE_DEV) == "1",
        trusted_proxies=parse_trusted_proxies(env.get("SPRECHZIMMER_TRUSTED_PROXIES", "")),
        operator_token=env.get("SPRECHZIMMER_OPERATOR_TOKEN") or None,
        operator_name=env.get("OPERATOR_NAME") or env.get("SEPA_CREDITOR_NAME", "Sprechzimmer GmbH"),
        operator_email=env.get("OPERATOR_EMAIL", Settings.operator_email),
        operator_representative=env.get("OPERATOR_REPRESENTATIVE", Settings.operator_representative),
        operator_register=env.get("OPERATOR_REGISTER", Settings.operator_register),
        dpo_contact=env.get("DPO_CONTACT", Settings.dpo_contact),
        subprocessors=parse_subprocessors(env.get("SUBPROCESSORS", "")),
        prenotification_days=int(env.get("PRENOTIFICATION_DAYS", "14")),
    )


def parse_subprocessors(value: str) -> tuple[tuple[str, str, str], ...]:
    """`Name, Anschrift|Leistung|Ort;…` — one entry per sub-processor, fields separated by |."""
    entries = []
    for entry in (e.strip() for e in value.split(";")):
        if not entry:
            continue
        fields = [f.strip() for f in entry.split("|")]
        if len(fields) != 3 or not all(fields):
            raise ValueError(f"SUBPROCESSORS: {entry!r} needs three fields: name|service|place")
        entries.append((fields[0], fields[1], fields[2]))
    return tuple(entries) or DEFAULT_SUBPROCESSORS


def parse_trusted_proxies(value: str) -> tuple[str, ...]:
    """Comma-separated addresses or networks (CIDR); an invalid entry stops the start-up with its name."""
    proxies = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        try:
            proxies.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValueError(f"SPRECHZIMMER_TRUSTED_PROXIES: {entry!r} is no IP address or network") from None
    return tuple(proxies)


def _urls(value: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in value.split(",") if u.strip())
