"""What a login needs, answered from read models instead of the organisation's event stream: replaying it
took long enough to tell a known organisation name from an unknown one (issue 10.4), and it was the slow
part of every login in an organisation with a history (issue 13.3).

This projection keeps organisation short name → id and signing key, the user certificates and each device's
latest keyring grant; the password parameters and the device keys come from the users and devices read
models (projections/devices.py) in the same query. Nothing here is secret: the server holds all of it anyway,
and public keys, certificates and sealed grants are useless without the client's secrets."""

from __future__ import annotations

import json
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID

from application.ports import LoginRecord, StoredDevice, StoredUser
from application.retention import Kept, Retention
from domain.base import short_name_key
from domain.device import Device
from domain.organisation import Organisation
from infrastructure.readmodel_cipher import ReadModelCipher
from infrastructure.sql import Cursor, Database
from projections.runner import handled_topics

TABLES = ("rm_login_names", "rm_login_certs", "rm_login_grants")


class LoginNames:
    name = "logins"
    tables: ClassVar[dict[str, str]] = dict.fromkeys(TABLES, "org_id")  # table -> organisation column (erasure)
    retention: ClassVar[dict[str, Retention]] = dict.fromkeys(TABLES, Kept(
        "Anmeldedaten (Namen, öffentliche Schlüssel, Zertifikate), keine Zeiten"))

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_login_names (short_key TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
                "short_name TEXT NOT NULL, org_sign_pk TEXT NOT NULL)",
                "CREATE INDEX IF NOT EXISTS rm_login_names_org ON rm_login_names (org_id)",
                "CREATE TABLE IF NOT EXISTS rm_login_certs (org_id TEXT NOT NULL, user_key TEXT NOT NULL, "
                "cert TEXT NOT NULL, PRIMARY KEY (org_id, user_key))",
                "CREATE TABLE IF NOT EXISTS rm_login_grants (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
                "device_id TEXT NOT NULL, version INTEGER NOT NULL, grant_json TEXT, approver_tag TEXT)",
                "CREATE INDEX IF NOT EXISTS rm_login_grants_org ON rm_login_grants (org_id, device_id)"]

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    def _cert(self, cur: Cursor, org_id: UUID, user_key: str, cert: str) -> None:
        cur.execute("DELETE FROM rm_login_certs WHERE org_id = %s AND user_key = %s", (str(org_id), user_key))
        cur.execute("INSERT INTO rm_login_certs (org_id, user_key, cert) VALUES (%s, %s, %s)",
                    (str(org_id), user_key, cert))

    def _grant(self, cur: Cursor, event: Any, grant: dict[str, Any] | None, approver_tag: str | None) -> None:
        cur.execute("UPDATE rm_login_grants SET version = %s, grant_json = %s, approver_tag = %s WHERE id = %s",
                    (int(grant["version"]) if grant else 0, json.dumps(grant) if grant else None, approver_tag,
                     str(event.originator_id)))

    @apply.register
    def _(self, event: Organisation.Registered, cur: Cursor) -> None:
        key = short_name_key(event.short_name)
        cur.execute("DELETE FROM rm_login_names WHERE short_key = %s", (key,))  # a name freed by an erasure
        cur.execute("INSERT INTO rm_login_names (short_key, org_id, short_name, org_sign_pk) VALUES (%s, %s, %s, %s)",
                    (key, str(event.org_id), event.short_name, event.org_sign_pk))
        self._cert(cur, event.org_id, short_name_key(event.main_user["short_name"]), event.main_user.get("cert", ""))

    @apply.register
    def _(self, event: Organisation.UserAdded, cur: Cursor) -> None:
        self._cert(cur, event.org_id, short_name_key(event.user["short_name"]), event.user.get("cert", ""))

    @apply.register
    def _(self, event: Organisation.PasswordChanged, cur: Cursor) -> None:
        self._cert(cur, event.org_id, event.user_key, event.cert)

    @apply.register
    def _(self, event: Organisation.RoleChanged, cur: Cursor) -> None:
        self._cert(cur, event.org_id, event.user_key, event.cert)

    @apply.register
    def _(self, event: Organisation.UserCertified, cur: Cursor) -> None:
        self._cert(cur, event.org_id, event.user_key, event.cert)

    @apply.register
    def _(self, event: Device.RegisteredWithOrganisation, cur: Cursor) -> None:
        cur.execute("INSERT INTO rm_login_grants (id, org_id, device_id, version, grant_json, approver_tag) "
                    "VALUES (%s, %s, %s, %s, %s, NULL)",
                    (str(event.originator_id), str(event.org_id), event.device_id, int(event.grant["version"]),
                     json.dumps(event.grant)))

    @apply.register
    def _(self, event: Device.Enrolled, cur: Cursor) -> None:
        cur.execute("INSERT INTO rm_login_grants (id, org_id, device_id, version, grant_json, approver_tag) "
                    "VALUES (%s, %s, %s, 0, NULL, NULL)", (str(event.originator_id), str(event.org_id),
                                                          event.device_id))

    @apply.register
    def _(self, event: Device.Approved, cur: Cursor) -> None:
        self._grant(cur, event, event.grant, event.approver_tag or None)

    @apply.register
    def _(self, event: Device.Revoked, cur: Cursor) -> None:
        cur.execute("UPDATE rm_login_grants SET version = 0, grant_json = NULL WHERE id = %s",
                    (str(event.originator_id),))

    @apply.register
    def _(self, event: Device.GrantAdded, cur: Cursor) -> None:
        # The device keeps every version; a login hands out the newest (Device.latest_grant).
        cur.execute("UPDATE rm_login_grants SET version = %s, grant_json = %s WHERE id = %s AND version <= %s",
                    (int(event.grant["version"]), json.dumps(event.grant), str(event.originator_id),
                     int(event.grant["version"])))

    topics = handled_topics(apply)  # the events it applies; no other is decoded for it

class SqlLoginDirectory:
    """application.ports.LoginDirectory over this projection's tables and rm_users, rm_devices (one database).
    Verifiers and device keys are sealed in those read models (§8a.9); `cipher` opens them."""

    def __init__(self, db: Database, cipher: ReadModelCipher):
        self.db = db
        self.cipher = cipher

    def lookup(self, org: str, user: str, device_id: str) -> LoginRecord | None:
        with self.db.transaction() as cur:
            row = cur.execute(
                "SELECT n.org_id, n.short_name, n.org_sign_pk, "
                "u.short_name, u.role, u.pw_salt, u.pw_ops, u.pw_mem, u.pk_pw, u.active, c.cert, "
                "d.name, d.status, d.dev_sign_pk, d.dev_box_pk, d.approved_at, d.approver, d.cert, "
                "g.grant_json, g.approver_tag "
                "FROM rm_login_names n "
                "LEFT JOIN rm_users u ON u.org_id = n.org_id AND u.user_key = %s "
                "LEFT JOIN rm_login_certs c ON c.org_id = n.org_id AND c.user_key = u.user_key "
                "LEFT JOIN rm_devices d ON d.org_id = n.org_id AND d.device_id = %s "
                "LEFT JOIN rm_login_grants g ON g.org_id = n.org_id AND g.device_id = d.device_id "
                "WHERE n.short_key = %s", (short_name_key(user), device_id, short_name_key(org))).fetchone()
        if row is None:
            return None
        org_id = UUID(row[0])

        def opened(column: str, value: str) -> str:
            return self.cipher.open(org_id, column, value)

        stored_user = StoredUser(row[3], row[4], opened("pw_salt", row[5]), int(row[6]), int(row[7]),
                                 opened("pk_pw", row[8]), bool(row[9]), row[10] or "") if row[3] else None
        stored_device = StoredDevice(row[11], row[12], opened("dev_sign_pk", row[13]), opened("dev_box_pk", row[14]),
                                     row[15], row[16], row[17], json.loads(row[18]) if row[18] else None,
                                     row[19]) if row[13] else None
        return LoginRecord(org_id, row[1], row[2], stored_user, stored_device)
