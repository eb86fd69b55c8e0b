"""Tamper-evident history (issue 14): the audit chain's hashes, signed checkpoints and the verifier.

    digest_n = h("vdc/v1/audit-record", stream, version, type, stored state)
    chain_n  = h("vdc/v1/audit", chain_{n-1}, position, digest_n)          chain_0 = 32 zero bytes
    checkpoint = Ed25519 signature of lp("vdc/v1/audit-checkpoint", position, chain head, time)

The chain rows are written with the events (infrastructure/audit_chain.py). The verifier recomputes every link
from the stored events and compares it with the stored chain and with every signed checkpoint, including one an
auditor exported earlier: a rewrite of the whole tail, chain and re-signed checkpoints included, still contradicts
a checkpoint the operator can no longer change."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sprechzimmer_protocol.encoding import lp

GENESIS = bytes(32)
CHECKPOINT_EVERY = 1000  # events between two checkpoints at most (besides the hourly one)
CHECKPOINT_INTERVAL = timedelta(hours=1)
EXPORT_FORMAT = "sprechzimmer-audit-checkpoint/v1"
BERLIN = ZoneInfo("Europe/Berlin")

_RECORD_HEAD = struct.Struct(">I19sI16sIQ").pack
_LINK = struct.Struct(">I12sI32sIQI32s").pack
_topics: dict[str, bytes] = {}  # lp(topic): a log has few distinct types


# Both hashes are crypto.h (BLAKE2b-256 of lp(fields)) spelled out with fixed layouts: the verifier runs them
# hundreds of thousands of times a second, and the generic lp() with its type dispatch would be its bottleneck.
def record_digest(stream: bytes, version: int, topic: str, state: bytes) -> bytes:
    """`stream` is the stream id's 16 bytes."""
    encoded = _topics.get(topic)
    if encoded is None:
        t = topic.encode()
        encoded = _topics.setdefault(topic, struct.pack(">I", len(t)) + t) if len(_topics) < 10_000 else \
            struct.pack(">I", len(t)) + t
    return hashlib.blake2b(_RECORD_HEAD(19, b"vdc/v1/audit-record", 16, stream, 8, version) + encoded
                           + struct.pack(">I", len(state)) + state, digest_size=32).digest()


def link(previous: bytes, position: int, digest: bytes) -> bytes:
    return hashlib.blake2b(_LINK(12, b"vdc/v1/audit", 32, previous, 8, position, 32, digest),
                           digest_size=32).digest()


def checkpoint_message(position: int, head: bytes, at: str) -> bytes:
    return lp("vdc/v1/audit-checkpoint", position, head, at)


@dataclass(frozen=True)
class StoredCheckpoint:
    position: int
    head: bytes
    at: str  # ISO 8601, UTC
    public_key: bytes
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {"format": EXPORT_FORMAT, "position": self.position, "head": self.head.hex(), "at": self.at,
                "public_key": self.public_key.hex(), "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, data: Any) -> StoredCheckpoint:
        """Raises ValueError with a German message for anything that is not an exported checkpoint."""
        try:
            if data.get("format") != EXPORT_FORMAT:
                raise ValueError
            return cls(int(data["position"]), bytes.fromhex(data["head"]), str(data["at"]),
                       bytes.fromhex(data["public_key"]), bytes.fromhex(data["signature"]))
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ValueError(f"Keine Prüfpunkt-Datei ({EXPORT_FORMAT})") from None

    def when(self) -> str:
        try:
            return datetime.fromisoformat(self.at).astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
        except ValueError:
            return self.at


ChainEntry = tuple[int, bytes | None, bytes | None, bool, bytes | None]
"""One position of the merged view of chain rows and stored events; either side may be missing:
(position, digest — None: no chain row here, chain, tombstone, record — the digest recomputed from the stored
event; None: no event here). A plain tuple, not a NamedTuple: building one costs as much as a hash, per event."""


class Chain(Protocol):
    def head(self) -> tuple[int, bytes]: ...
    def entries(self) -> Iterator[ChainEntry]: ...
    def checkpoints(self) -> list[StoredCheckpoint]: ...
    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...
    def count(self) -> int: ...


class Signer(Protocol):
    @property
    def public_key(self) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...


# --- checkpoints ----------------------------------------------------------------------------------------------

def take_checkpoint(chain: Chain, signer: Signer, now: datetime, force: bool = False) -> StoredCheckpoint | None:
    """Signs the current head when CHECKPOINT_EVERY events or an hour have passed since the last checkpoint."""
    position, head = chain.head()
    if position == 0:
        return None
    stored = chain.checkpoints()
    last = max(stored, key=lambda c: (c.position, c.at)) if stored else None
    if not force and last is not None:
        due_by_count = position - last.position >= CHECKPOINT_EVERY
        due_by_time = now - datetime.fromisoformat(last.at) >= CHECKPOINT_INTERVAL
        if not (due_by_count or due_by_time):
            return None
    at = now.astimezone(UTC).isoformat(timespec="seconds")
    checkpoint = StoredCheckpoint(position, head, at, signer.public_key,
                                  signer.sign(checkpoint_message(position, head, at)))
    chain.add_checkpoint(checkpoint)
    return checkpoint


def latest_checkpoint(chain: Chain) -> StoredCheckpoint | None:
    stored = chain.checkpoints()
    return max(stored, key=lambda c: (c.position, c.at)) if stored else None


# --- verification ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    position: int
    text: str  # German, for the auditor


@dataclass
class Report:
    events: int = 0
    tombstones: int = 0
    checkpoints: int = 0
    position: int = 0
    head: bytes = GENESIS
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.position) if self.findings else None


@dataclass(frozen=True)
class Erasures:
    """What the erasure procedure left besides the tombstones: for each tombstone the receipt stream it was noted
    with (position → 32 hex digits), and the receipt streams whose `Started` event is in the history."""
    noted: dict[int, str] = field(default_factory=dict)
    receipts: frozenset[str] = frozenset()

    def problem(self, position: int) -> str | None:
        """Why the tombstone at `position` is not covered by an erasure receipt, or None if it is."""
        receipt = self.noted.get(position)
        if receipt is None:
            return (f"Position {position}: gelöscht (Grabstein) ohne Löschprotokoll – das Ereignis wurde "
                    "außerhalb des Löschverfahrens entfernt")
        if receipt not in self.receipts:
            return (f"Position {position}: gelöscht (Grabstein), aber das zugehörige Löschprotokoll fehlt im "
                    "Verlauf")
        return None


def verify(entries: Iterable[ChainEntry], checkpoints: list[tuple[str, StoredCheckpoint]],
           signature_valid: Callable[[bytes, bytes, bytes], bool],
           erasures: Callable[[], Erasures] | None = None) -> Report:
    """Walks the chain once. `checkpoints` are (label, checkpoint): the stored ones and any exported file. With
    `erasures`, every tombstone must be covered by an erasure receipt in the history. They are loaded at the first
    tombstone, after the walk's snapshot began: the notes of every tombstone the walk sees are committed by then
    (with the tombstone, in one transaction), so an erasure running meanwhile is no false alarm."""
    report = Report()
    add = report.findings.append
    loaded: Erasures | None = None
    pending: list[tuple[str, StoredCheckpoint]] = []
    for label, cp in checkpoints:
        if signature_valid(cp.public_key, checkpoint_message(cp.position, cp.head, cp.at), cp.signature):
            pending.append((label, cp))
        else:
            add(Finding(cp.position, f"{label} vom {cp.when()} an Position {cp.position}: Signatur ungültig"))
    pending.sort(key=lambda item: item[1].position)
    report.checkpoints = len(pending)
    previous, last_position, last_confirmed, i, events = GENESIS, 0, 0, 0, 0
    # The loop unpacks the entries and keeps names local: it runs once per event of the whole history.
    blake2b, pack_link = hashlib.blake2b, _LINK
    next_checkpoint = pending[0][1].position if pending else None
    for position, digest, chain, tombstone, record in entries:
        if next_checkpoint is not None and next_checkpoint < position:
            while i < len(pending) and pending[i][1].position < position:
                label, cp = pending[i]
                add(Finding(cp.position, f"{label} vom {cp.when()}: Position {cp.position} fehlt im Verlauf "
                                         "(gelöscht)"))
                i += 1
            next_checkpoint = pending[i][1].position if i < len(pending) else None
        if digest is None or chain is None:
            add(Finding(position, f"Position {position}: Ereignis ohne Kettenglied – nachträglich eingefügt"))
            continue
        if record is None:
            if tombstone:
                report.tombstones += 1
                if erasures is not None:
                    loaded = loaded or erasures()
                    problem = loaded.problem(position)
                    if problem is not None:
                        add(Finding(position, problem))
            else:
                add(Finding(position, f"Position {position}: Ereignis fehlt – gelöscht, ohne Löschprotokoll"))
        else:
            events += 1
            if record != digest:
                add(Finding(position, f"Position {position}: Ereignis verändert (Prüfsumme passt nicht)"))
            elif tombstone:
                add(Finding(position, f"Position {position}: als gelöscht markiert, Ereignis aber vorhanden"))
        expected = blake2b(pack_link(12, b"vdc/v1/audit", 32, previous, 8, position, 32, digest),
                           digest_size=32).digest()  # link(), inlined: a call per event costs a tenth of it
        if expected != chain:
            add(Finding(position, f"Position {position}: Kette unterbrochen – zwischen Position {last_position} "
                                  f"und {position} wurde ein Ereignis gelöscht, eingefügt oder umgeordnet"))
        if position == next_checkpoint:
            confirmed_before = last_confirmed  # a checkpoint at this very position confirms nothing before it
            while i < len(pending) and pending[i][1].position == position:
                label, cp = pending[i]
                if cp.head != expected:
                    add(Finding(position, f"{label} vom {cp.when()} an Position {position} passt nicht: Der "
                                          f"Verlauf zwischen Position {confirmed_before + 1} und {position} wurde "
                                          "umgeschrieben"))
                else:
                    last_confirmed = position
                i += 1
            next_checkpoint = pending[i][1].position if i < len(pending) else None
        # One break is reported once: the walk goes on from the stored link.
        previous, last_position = chain, position
    report.events = events
    for label, cp in pending[i:]:
        add(Finding(cp.position, f"{label} vom {cp.when()} an Position {cp.position}: Der Verlauf endet bei "
                                 f"Position {last_position} – spätere Ereignisse wurden gelöscht"))
    report.position, report.head = last_position, previous
    return report


def load_exported(text: str) -> StoredCheckpoint:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"Keine Prüfpunkt-Datei ({EXPORT_FORMAT})") from None
    return StoredCheckpoint.from_json(data)
