"""What a login needs, answered from read models instead of the organisation's event stream: replaying it
took long enough to tell a known organisation name from an unknown one (issue 10.4), and it is the slow
part of every login (issue 13.3).

This projection keeps only organisation short name → id and signing key; the user's password parameters and
the device's keys come from the users and devices read models (projections/devices.py) in the same query."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from application.ports import LoginRecord, StoredDevice, StoredUser
from domain.base import short_name_key
from domain.organisation import Organisation
from infrastructure.sql import Cursor, Database


class LoginNames:
    name = "logins"

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_login_names (short_key TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
                "org_sign_pk TEXT NOT NULL)",
                "CREATE INDEX IF NOT EXISTS rm_login_names_org ON rm_login_names (org_id)"]

    def clear(self, cur: Cursor) -> None:
        cur.execute("DELETE FROM rm_login_names")

    def forget(self, org_id: UUID, cur: Cursor) -> int:
        return int(cur.execute("DELETE FROM rm_login_names WHERE org_id = %s", (str(org_id),)).rowcount)

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    @apply.register
    def _(self, event: Organisation.Registered, cur: Cursor) -> None:
        key = short_name_key(event.short_name)
        cur.execute("DELETE FROM rm_login_names WHERE short_key = %s", (key,))  # a name freed by an erasure
        cur.execute("INSERT INTO rm_login_names (short_key, org_id, org_sign_pk) VALUES (%s, %s, %s)",
                    (key, str(event.org_id), event.org_sign_pk))


class SqlLoginDirectory:
    """application.ports.LoginDirectory over rm_login_names, rm_users and rm_devices (one state database)."""

    def __init__(self, db: Database):
        self.db = db

    def lookup(self, org: str, user: str, device_id: str) -> LoginRecord | None:
        with self.db.transaction() as cur:
            row = cur.execute(
                "SELECT n.org_id, n.org_sign_pk, u.pw_salt, u.pw_ops, u.pw_mem, u.pk_pw, u.active, "
                "d.name, d.status, d.dev_sign_pk, d.dev_box_pk, d.approved_at, d.approver, d.cert "
                "FROM rm_login_names n "
                "LEFT JOIN rm_users u ON u.org_id = n.org_id AND u.user_key = %s "
                "LEFT JOIN rm_devices d ON d.org_id = n.org_id AND d.device_id = %s "
                "WHERE n.short_key = %s", (short_name_key(user), device_id, short_name_key(org))).fetchone()
        if row is None:
            return None
        stored_user = StoredUser(row[2], int(row[3]), int(row[4]), row[5], bool(row[6])) if row[2] else None
        stored_device = StoredDevice(*row[7:14]) if row[9] else None
        return LoginRecord(UUID(row[0]), row[1], stored_user, stored_device)
