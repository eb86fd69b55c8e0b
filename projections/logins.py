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
from infrastructure import crypto
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
        # A row of lookup's query in the sizes of a real one: names, keys, a certificate and a keyring grant.
        self.decoy = (
            str(_DECOY_ORG), "Decoy", "00" * 32,
            "decoy", "admin", self._decoy_sealed("pw_salt", 16), 2, 67108864, self._decoy_sealed("pk_pw", 32), True,
            "00" * 180,
            "Decoy", "approved", self._decoy_sealed("dev_sign_pk", 32), self._decoy_sealed("dev_box_pk", 32),
            "2026-01-01T00:00:00+00:00", "decoy", "00" * 180,
            json.dumps({"version": 1, "org_id": str(_DECOY_ORG), "sealed": "00" * 400}), None,
        )

    def _decoy_sealed(self, column: str, size: int) -> str:
        return self.cipher.seal(_DECOY_ORG, column, crypto.random_bytes(size).hex(), _DECOY_KEY)

    def lookup(self, org: str, user: str, device_id: str) -> LoginRecord | None:
        row = self.db.once(
                "SELECT n.org_id, n.short_name, n.org_sign_pk, "
                "u.short_name, u.role, u.pw_salt, u.pw_ops, u.pw_mem, u.pk_pw, u.active, c.cert, "
                "d.name, d.status, d.dev_sign_pk, d.dev_box_pk, d.approved_at, d.approver, d.cert, "
                "g.grant_json, g.approver_tag "
                "FROM (SELECT %s AS short_key) q "  # one row, of NULLs for an unknown name: equal work again
                "LEFT JOIN rm_login_names n ON n.short_key = q.short_key "
                "LEFT JOIN rm_users u ON u.org_id = n.org_id AND u.user_key = %s "
                "LEFT JOIN rm_login_certs c ON c.org_id = n.org_id AND c.user_key = u.user_key "
                "LEFT JOIN rm_devices d ON d.org_id = n.org_id AND d.device_id = %s "
                "LEFT JOIN rm_login_grants g ON g.org_id = n.org_id AND g.device_id = d.device_id",
                (short_name_key(org), short_name_key(user), device_id), durable=False).fetchone()
        # An unknown organisation, user or device is answered with the same work as a known one, on a decoy
        # row: the work saved would otherwise tell them apart by the time the answer takes (issue 10.4).
        org_known, user_known, device_known = row[0] is not None, row[3] is not None, row[13] is not None
        if not org_known:
            row = self.decoy
        row = (row[:3] + (row[3:11] if user_known else self.decoy[3:11])
               + (row[11:] if device_known else self.decoy[11:]))
        org_id = UUID(row[0])
        if org_known:
            key = self.cipher.key(org_id)
        else:
            self.cipher.keystore.read_model_key(org_id)  # finds no key, but takes as long to find out
            key = _DECOY_KEY

        def opened(column: str, value: str, real: bool) -> str:
            return self.cipher.open(org_id, column, value, key) if real else \
                self.cipher.open(_DECOY_ORG, column, value, _DECOY_KEY)

        stored_user = StoredUser(row[3], row[4], opened("pw_salt", row[5], user_known), int(row[6]), int(row[7]),
                                 opened("pk_pw", row[8], user_known), bool(row[9]), row[10] or "")
        stored_device = StoredDevice(row[11], row[12], opened("dev_sign_pk", row[13], device_known),
                                     opened("dev_box_pk", row[14], device_known), row[15], row[16], row[17],
                                     json.loads(row[18]) if row[18] else None, row[19])
        if not org_known:
            return None
        return LoginRecord(org_id, row[1], row[2], stored_user if user_known else None,
                           stored_device if device_known else None)


_DECOY_ORG = UUID(int=0)
_DECOY_KEY = crypto.random_bytes(32)
