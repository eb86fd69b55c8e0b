"""Reminder phone numbers while they wait: ciphertext under the organisation's K_rm (sealed by the use case),
one row per pending reminder, deleted as soon as the reminder has gone out or was dropped. Not an event:
the history must not keep a number that is to be forgotten."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from application.retention import Kept, Retention
from infrastructure.sql import Database


class SqlReminderNumbers:
    retention: ClassVar[dict[str, Retention]] = {"reminder_numbers": Kept(
        "keine Zeit, keine Adresse: die verschlüsselte Rufnummer wartet bis zum Versand der Erinnerung und geht dann")}

    def __init__(self, db: Database):
        self.db = db
        with db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS reminder_numbers (reminder_id TEXT PRIMARY KEY, "
                        "org_id TEXT NOT NULL, ciphertext TEXT NOT NULL)")

    def put(self, reminder_id: str, org_id: UUID, ciphertext: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO reminder_numbers (reminder_id, org_id, ciphertext) VALUES (%s, %s, %s)",
                        (reminder_id, str(org_id), ciphertext))

    def get(self, reminder_id: str) -> str | None:
        with self.db.transaction() as cur:
            row = cur.execute("SELECT ciphertext FROM reminder_numbers WHERE reminder_id = %s",
                              (reminder_id,)).fetchone()
        return str(row[0]) if row else None

    def delete(self, reminder_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM reminder_numbers WHERE reminder_id = %s", (reminder_id,))

    def delete_organisation(self, org_id: UUID) -> int:
        """For erasure: the rows are unreadable once K_shred is gone, and then they go too."""
        with self.db.transaction() as cur:
            return int(cur.execute("DELETE FROM reminder_numbers WHERE org_id = %s", (str(org_id),)).rowcount)
