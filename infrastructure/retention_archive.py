"""The retention archive (issue 15.2; Art. 17 (3) b DSGVO, § 147 AO, § 14b UStG): what bookkeeping must keep of
an erased practice — each invoice as issued (its data and the PDF) and the SEPA mandate evidence — sealed to the
operator's retention key (X25519, SealedBox), so the server can add entries but a copy of the database shows
nothing. In the clear only the kind, an invoice number or the erasure receipt's hash, and the day after which
the entry is deleted."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from application.retention import Kept, Retention
from infrastructure.sql import Database


class SqlRetentionArchive:
    retention: ClassVar[dict[str, Retention]] = {"retention_archive": Kept(
        "Aufbewahrungspflicht (§ 147 AO, § 14b UStG): Rechnungen und Mandatsnachweise gelöschter Praxen, "
        "verschlüsselt; am Tag nach keep_until vom Job retention-archive gelöscht")}

    def __init__(self, db: Database):
        self._db = db
        with db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS retention_archive (ref TEXT PRIMARY KEY, kind TEXT NOT NULL, "
                        "receipt TEXT NOT NULL, keep_until TEXT NOT NULL, sealed TEXT NOT NULL)")

    def put(self, ref: str, kind: str, receipt: str, keep_until: date, sealed: bytes) -> None:
        """Idempotent: an erasure that is run again after a crash finds its entries in place."""
        with self._db.transaction() as cur:
            cur.execute("INSERT INTO retention_archive (ref, kind, receipt, keep_until, sealed) "
                        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (ref) DO NOTHING",
                        (ref, kind, receipt, keep_until.isoformat(), sealed.hex()))

    def entries(self) -> list[tuple[str, str, str, date, bytes]]:
        with self._db.transaction() as cur:
            rows = cur.execute("SELECT ref, kind, receipt, keep_until, sealed FROM retention_archive "
                               "ORDER BY keep_until, ref").fetchall()
        return [(r[0], r[1], r[2], date.fromisoformat(r[3]), bytes.fromhex(r[4])) for r in rows]

    def purge(self, today: date) -> int:
        """Deletes every entry whose period has ended (keep_until before today)."""
        with self._db.transaction() as cur:
            return int(cur.execute("DELETE FROM retention_archive WHERE keep_until < %s",
                                   (today.isoformat(),)).rowcount)
