"""The monthly SEPA direct-debit file (SEPA-Lastschrift, pain.008.001.02, SEPA Core).

This module refuses bad input before the bank does (schwifty checks IBAN and BIC, we check the creditor
identifier and the identifiers' character set), writes the file reproducibly, and validates it against the
pain.008.001.02 schema that sepaxml ships. The layout is the one sepaxml writes (earlier months' files were
built with it).

Reproducible means: the same debits, collection date and message id give the same bytes. The billing run can
then be repeated after a crash without producing a second, different file, and banks reject a second upload
with an already used message id (MsgId) — a guard against debiting the practices twice.
"""

from __future__ import annotations

import datetime
import functools
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

import schwifty
import sepaxml
from lxml import etree
from schwifty.exceptions import SchwiftyException
from text_unidecode import unidecode

SCHEMA = "pain.008.001.02"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
MAX_AMOUNT_CENTS = 99_999_999_999  # 999.999.999,99 EUR, the largest amount pain.008 allows per transaction

SequenceType = Literal["FRST", "RCUR", "OOFF", "FNAL"]

# Identifiers (message id, mandate reference, end-to-end id) must use the SEPA basic Latin character set;
# EPC also forbids a leading "/" and "//" anywhere in them. 1 to 35 characters.
_SEPA_ID = re.compile(r"(?!/)(?!.*//)[A-Za-z0-9/\-?:().,'+ ]{1,35}")


class SepaFileError(ValueError):
    """The debits or the creditor data cannot go into a valid direct-debit file."""


@dataclass(frozen=True)
class Creditor:
    """Us, as the payee. `creditor_id` is the Gläubiger-Identifikationsnummer from the Bundesbank."""

    name: str
    iban: str
    bic: str
    creditor_id: str


@dataclass(frozen=True)
class Debit:
    """One practice's monthly debit. `amount` is either integer cents or a Decimal in EUR with ≤ 2 places.

    `sequence_type` is RCUR for a recurring mandate; since the 2016 rulebook FRST is optional, but the
    application may still mark a mandate's first collection with it.
    """

    debtor_name: str
    iban: str
    bic: str
    amount: int | Decimal
    mandate_reference: str
    mandate_signed_on: datetime.date
    description: str
    end_to_end_id: str
    sequence_type: SequenceType = "RCUR"


def amount_in_cents(amount: int | Decimal) -> int:
    """Integer cents of a positive amount; refuses fractions of a cent instead of rounding them away."""
    if isinstance(amount, bool):
        raise SepaFileError(f"Ungültiger Betrag: {amount!r}")
    if isinstance(amount, int):
        cents = amount
    elif isinstance(amount, Decimal):
        if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
            raise SepaFileError(f"Betrag mit mehr als zwei Nachkommastellen: {amount}")
        cents = int(amount * 100)
    else:
        raise SepaFileError(f"Betrag muss Cent (int) oder Decimal sein, nicht {type(amount).__name__}")
    if not 0 < cents <= MAX_AMOUNT_CENTS:
        raise SepaFileError(f"Betrag außerhalb des zulässigen Bereichs: {cents} Cent")
    return cents


def check_creditor_id(creditor_id: str) -> str:
    """Validate a SEPA creditor identifier (e.g. 'DE98ZZZ09999999999') and return it compacted.

    Structure (EPC262-08): country code, two check digits, a three-character business code that is not part
    of the check, and the national identifier. The check is ISO 7064 MOD 97-10 over national identifier +
    country code + '00', as for an IBAN. schwifty covers IBAN and BIC but not this identifier.
    """
    compact = creditor_id.replace(" ", "").upper()
    match = re.fullmatch(r"([A-Z]{2})(\d{2})([A-Z0-9]{3})([A-Z0-9]{1,28})", compact)
    if match is None:
        raise SepaFileError(f"Ungültige Gläubiger-ID: {creditor_id!r}")
    country, check, _business_code, national = match.groups()
    digits = "".join(str(int(c, 36)) for c in national + country + "00")
    if 98 - int(digits) % 97 != int(check):
        raise SepaFileError(f"Prüfziffer der Gläubiger-ID stimmt nicht: {creditor_id!r}")
    return compact


def _iban(value: str, whose: str) -> str:
    try:
        return str(schwifty.IBAN(value).compact)
    except SchwiftyException as e:
        raise SepaFileError(f"Ungültige IBAN ({whose}): {e}") from e


def _bic(value: str, whose: str) -> str:
    try:
        return str(schwifty.BIC(value).compact)
    except SchwiftyException as e:
        raise SepaFileError(f"Ungültige BIC ({whose}): {e}") from e


def _sepa_id(value: str, what: str) -> str:
    if not _SEPA_ID.fullmatch(value):
        raise SepaFileError(f"{what} muss 1–35 Zeichen aus dem SEPA-Zeichensatz haben: {value!r}")
    return value


# The German transliteration (DIN 5007-2, what banks print): unidecode alone would drop the umlaut
# ("Müller" → "Muller"); done first, the rest (é, Ł, …) is then left to unidecode.
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss",
                         "ẞ": "SS"})


def german_transliteration(value: str) -> str:
    return value.translate(_GERMAN)


def _text(value: str, what: str, max_len: int) -> str:
    value = german_transliteration(value)
    if not value.strip():
        raise SepaFileError(f"{what} fehlt")
    if len(value) > max_len:
        # A cut name or reference is worse than a clear error.
        raise SepaFileError(f"{what} ist länger als {max_len} Zeichen")
    return value


@dataclass(frozen=True)
class _Creditor:
    name: str  # escaped for XML, like every text below
    iban: str
    bic: str
    creditor_id: str


def build_direct_debit_file(
    creditor: Creditor,
    debits: Sequence[Debit],
    collection_date: datetime.date,
    message_id: str,
    created_at: datetime.datetime,
) -> bytes:
    """One pain.008.001.02 file (UTF-8 XML bytes) collecting all `debits` on `collection_date`.

    `message_id` must be unique per file towards the bank, e.g. derived from the billing month
    ('SPZ-2026-05'); `created_at` is the billing run's local (Europe/Berlin) clock time, written without offset
    as German banks expect. Both are parameters, not taken from the system, so that the output is
    reproducible. Raises `SepaFileError` on any invalid input.

    The file is written in one pass, a transaction at a time, and checked against the schema as it is written
    (libxml2's streaming validation): no document tree of 10,000 debits is ever built. The bytes are those
    sepaxml produced for the same input, so a file lost from an earlier month is rebuilt to its stored
    checksum.
    """
    if not debits:
        raise SepaFileError("Keine Lastschriften für die Datei")
    _sepa_id(message_id, "Die Nachrichten-ID")
    end_to_end_ids = [d.end_to_end_id for d in debits]
    if len(set(end_to_end_ids)) != len(end_to_end_ids):
        # The end-to-end id is how a returned debit (Rücklastschrift) is matched to its invoice.
        raise SepaFileError("Ende-zu-Ende-Referenzen müssen innerhalb der Datei eindeutig sein")
    us = _Creditor(
        name=_clean(creditor.name, "Name des Gläubigers", 70),
        iban=_iban(creditor.iban, "Gläubiger"),
        bic=_bic(creditor.bic, "Gläubiger"),
        creditor_id=check_creditor_id(creditor.creditor_id),
    )
    # One payment information block per sequence type (batch booking, as banks prefer), in order of appearance.
    blocks: dict[str, list[str]] = {}
    totals: dict[str, int] = {}
    for debit in debits:
        sequence_type, cents, transaction = _transaction(debit, collection_date)
        blocks.setdefault(sequence_type, []).append(transaction)
        totals[sequence_type] = totals.get(sequence_type, 0) + cents

    def document() -> Iterator[str]:
        created = created_at.replace(microsecond=0, tzinfo=None).isoformat()
        yield (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NAMESPACE}"><CstmrDrctDbtInitn>'
               f"<GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>{created}</CreDtTm>"
               f"<NbOfTxs>{len(debits)}</NbOfTxs><CtrlSum>{_euros(sum(totals.values()))}</CtrlSum>"
               f"<InitgPty><Nm>{us.name}</Nm><Id><OrgId><Othr><Id>{us.creditor_id}</Id></Othr></OrgId></Id>"
               "</InitgPty></GrpHdr>")
        for n, (sequence_type, transactions) in enumerate(blocks.items(), start=1):
            suffix = f"-{n}"
            yield _payment_information(us, message_id[: 35 - len(suffix)] + suffix, sequence_type,
                                       len(transactions), totals[sequence_type], collection_date)
            yield from transactions
            yield "</PmtInf>"
        yield "</CstmrDrctDbtInitn></Document>"

    return _validated(chunk.encode("utf-8") for chunk in document())


def _payment_information(us: _Creditor, block_id: str, sequence_type: str, count: int, cents: int,
                         collection_date: datetime.date) -> str:
    return (f"<PmtInf><PmtInfId>{block_id}</PmtInfId><PmtMtd>DD</PmtMtd><BtchBookg>true</BtchBookg>"
            f"<NbOfTxs>{count}</NbOfTxs><CtrlSum>{_euros(cents)}</CtrlSum>"
            f"<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>CORE</Cd></LclInstrm>"
            f"<SeqTp>{sequence_type}</SeqTp></PmtTpInf><ReqdColltnDt>{collection_date}</ReqdColltnDt>"
            f"<Cdtr><Nm>{us.name}</Nm></Cdtr><CdtrAcct><Id><IBAN>{us.iban}</IBAN></Id></CdtrAcct>"
            f"<CdtrAgt><FinInstnId><BIC>{us.bic}</BIC></FinInstnId></CdtrAgt><ChrgBr>SLEV</ChrgBr>"
            f"<CdtrSchmeId><Id><PrvtId><Othr><Id>{us.creditor_id}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm>"
            "</Othr></PrvtId></Id></CdtrSchmeId>")


def _transaction(debit: Debit, collection_date: datetime.date) -> tuple[str, int, str]:
    """The debit checked and written as one DrctDbtTxInf element: (sequence type, cents, XML). Identifiers
    need no escaping: the SEPA character set has no "&", "<" or ">"."""
    whose = debit.debtor_name
    if debit.mandate_signed_on > collection_date:
        raise SepaFileError(f"Mandat von {whose} ist erst nach dem Einzugsdatum unterschrieben")
    if debit.sequence_type not in ("FRST", "RCUR", "OOFF", "FNAL"):
        raise SepaFileError(f"Unbekannter Sequenztyp: {debit.sequence_type!r}")
    name = _clean(debit.debtor_name, "Name des Zahlungspflichtigen", 70)
    iban, bic = _iban(debit.iban, whose), _bic(debit.bic, whose)
    cents = amount_in_cents(debit.amount)
    mandate = _sepa_id(debit.mandate_reference, "Die Mandatsreferenz")
    description = _clean(debit.description, "Verwendungszweck", 140)
    end_to_end_id = _sepa_id(debit.end_to_end_id, "Die Ende-zu-Ende-Referenz")
    return debit.sequence_type, cents, (
        f"<DrctDbtTxInf><PmtId><EndToEndId>{end_to_end_id}</EndToEndId></PmtId>"
        f'<InstdAmt Ccy="EUR">{_euros(cents)}</InstdAmt><DrctDbtTx><MndtRltdInf><MndtId>{mandate}</MndtId>'
        f"<DtOfSgntr>{debit.mandate_signed_on}</DtOfSgntr></MndtRltdInf></DrctDbtTx>"
        f"<DbtrAgt><FinInstnId><BIC>{bic}</BIC></FinInstnId></DbtrAgt><Dbtr><Nm>{name}</Nm></Dbtr>"
        f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct><RmtInf><Ustrd>{description}</Ustrd></RmtInf>"
        "</DrctDbtTxInf>")


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# Outside what XML 1.0 can carry or a bank statement can print (tab, line breaks, other control characters).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(value: str, what: str, max_len: int) -> str:
    """A name or purpose as the bank gets it: German transliteration, then the rest reduced to ASCII
    (text-unidecode, as sepaxml did), cut to the field's length, escaped for XML. A control character (an
    account holder typed with a line break) becomes a space: one practice's input must not stop the month's
    file for all."""
    ascii_text = _CONTROL.sub(" ", unidecode(_text(value, what, max_len))[:max_len])
    return _escape(ascii_text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# The schema sepaxml ships, checked with libxml2 (lxml): loaded once and validating a month of 10,000 debits in
# well under a second, where sepaxml's own check (xmlschema, pure Python) reloaded the schema on every call and
# took seconds per thousand debits. A schema object is not shared between threads: the lock serialises it.
_SCHEMA_LOCK = threading.Lock()


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd")))


def _validated(chunks: Iterable[bytes]) -> bytes:
    """The chunks joined, each fed to a validating parser as it comes; elements are dropped once checked."""
    out = bytearray()
    with _SCHEMA_LOCK:
        parser = etree.XMLPullParser(events=("end",), schema=_schema(), resolve_entities=False, no_network=True)
        try:
            for chunk in chunks:
                parser.feed(chunk)
                for _, element in parser.read_events():
                    element.clear()
                out += chunk
            parser.close()
        except etree.XMLSyntaxError as e:
            raise SepaFileError(f"SEPA-Datei entspricht nicht dem Schema {SCHEMA}: {e}") from e
    return bytes(out)
