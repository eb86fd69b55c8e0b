"""Read models of Stammdaten → Arbeitsplätze/Endgeräte and → Benutzer, and the security notices shown on
every device. Rebuildable from the events. They hold what the server sees by design (device and user
names, public keys, states); no password, code or patient data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID

from application.retention import Kept, Pruned, Retention
from domain.base import short_name_key
from domain.device import PENDING_TTL_SECONDS, Device
from domain.organisation import Organisation
from infrastructure.readmodel_cipher import ReadModelCipher
from infrastructure.sql import Cursor
from projections.runner import handled_topics

DEVICE_COLUMNS = ("device_id", "name", "status", "requested_by", "requested_at", "approved_at", "approver",
                  "dev_sign_pk", "dev_box_pk", "pairing_tag", "keyring_version", "cert")


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else None


class DeviceDirectory:
    """Device keys are kept sealed under the organisation's read-model key (§8a.9)."""

    name = "devices"
    tables: ClassVar[dict[str, str]] = {"rm_devices": "org_id"}  # table -> organisation column
    retention: ClassVar[dict[str, Retention]] = {"rm_devices": Kept(
        "Geräteverzeichnis der Praxis: Anfrage und Freigabe gehören zum Gerät, solange es besteht; keine Adressen")}

    def __init__(self, cipher: ReadModelCipher):
        self.cipher = cipher

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_devices (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
                "device_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, requested_by TEXT, "
                "requested_at DOUBLE PRECISION, approved_at TEXT, approver TEXT, dev_sign_pk TEXT NOT NULL, "
                "dev_box_pk TEXT NOT NULL, pairing_tag TEXT, keyring_version INTEGER NOT NULL, cert TEXT)",
                "CREATE INDEX IF NOT EXISTS rm_devices_org ON rm_devices (org_id)"]

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    def _insert(self, cur: Cursor, event: Any, status: str, requested_at: float | None, approved_at: str | None,
                approver: str | None, version: int, cert: str | None) -> None:
        cur.execute(
            "INSERT INTO rm_devices (id, org_id, device_id, name, status, requested_by, requested_at, approved_at, "
            "approver, dev_sign_pk, dev_box_pk, pairing_tag, keyring_version, cert) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, %s)",
            (str(event.originator_id), str(event.org_id), event.device_id, event.name, status, event.requested_by,
             requested_at, approved_at, approver, self.cipher.seal(event.org_id, "dev_sign_pk", event.dev_sign_pk),
             self.cipher.seal(event.org_id, "dev_box_pk", event.dev_box_pk), version, cert))

    def _update(self, cur: Cursor, event: Any, **values: Any) -> None:
        assignments = ", ".join(f"{column} = %s" for column in values)
        cur.execute(f"UPDATE rm_devices SET {assignments} WHERE id = %s",
                    (*values.values(), str(event.originator_id)))

    @apply.register
    def _(self, event: Device.RegisteredWithOrganisation, cur: Cursor) -> None:
        self._insert(cur, event, "approved", event.timestamp.timestamp(), event.approved_at, event.approver,
                     int(event.grant["version"]), event.cert)

    @apply.register
    def _(self, event: Device.Enrolled, cur: Cursor) -> None:
        self._insert(cur, event, "pending", event.requested_at, None, None, 0, None)

    @apply.register
    def _(self, event: Device.PairingTagAttached, cur: Cursor) -> None:
        self._update(cur, event, pairing_tag=event.tag)

    @apply.register
    def _(self, event: Device.Approved, cur: Cursor) -> None:
        self._update(cur, event, status="approved", approved_at=event.approved_at, approver=event.approver,
                     keyring_version=int(event.grant["version"]), cert=event.cert)

    @apply.register
    def _(self, event: Device.Renamed, cur: Cursor) -> None:
        self._update(cur, event, name=event.name, cert=event.cert)

    @apply.register
    def _(self, event: Device.Locked, cur: Cursor) -> None:
        self._update(cur, event, status="locked")

    @apply.register
    def _(self, event: Device.Unlocked, cur: Cursor) -> None:
        self._update(cur, event, status="approved")

    @apply.register
    def _(self, event: Device.Revoked, cur: Cursor) -> None:
        self._update(cur, event, status="revoked", keyring_version=0)

    @apply.register
    def _(self, event: Device.GrantAdded, cur: Cursor) -> None:
        self._update(cur, event, keyring_version=int(event.grant["version"]))

    @staticmethod
    def rows(cur: Cursor, org_id: UUID, now: float, cipher: ReadModelCipher) -> list[dict[str, Any]]:
        rows = cur.execute("SELECT " + ", ".join(DEVICE_COLUMNS) + " FROM rm_devices WHERE org_id = %s "
                           "ORDER BY requested_at, device_id", (str(org_id),)).fetchall()
        devices = []
        for row in rows:
            d = dict(zip(DEVICE_COLUMNS, row, strict=True))
            for column in ("dev_sign_pk", "dev_box_pk"):
                d[column] = cipher.open(org_id, column, str(d[column]))
            if d["status"] == "pending" and now - float(d["requested_at"] or 0) > PENDING_TTL_SECONDS:
                d["status"] = "expired"
            d["requested_at"] = _iso(d["requested_at"])
            devices.append(d)
        return devices

    @staticmethod
    def device_ids(cur: Cursor, org_id: UUID) -> list[str]:
        rows = cur.execute("SELECT device_id FROM rm_devices WHERE org_id = %s", (str(org_id),)).fetchall()
        return [str(r[0]) for r in rows]

    topics = handled_topics(apply)  # the events it applies; no other is decoded for it


class UserDirectory:
    """Password verifiers (pw_salt, pk_pw) are kept sealed under the organisation's read-model key (§8a.9)."""

    name = "users"
    tables: ClassVar[dict[str, str]] = {"rm_users": "org_id"}  # table -> organisation column
    retention: ClassVar[dict[str, Retention]] = {"rm_users": Kept("Benutzerverzeichnis der Praxis, keine Zeiten")}

    def __init__(self, cipher: ReadModelCipher):
        self.cipher = cipher

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_users (org_id TEXT NOT NULL, user_key TEXT NOT NULL, "
                "short_name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL, certified INTEGER NOT NULL, "
                "pw_salt TEXT NOT NULL, pw_ops INTEGER NOT NULL, pw_mem BIGINT NOT NULL, pk_pw TEXT NOT NULL, "
                "invite_proof TEXT NOT NULL DEFAULT '', PRIMARY KEY (org_id, user_key))"]

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    def _insert(self, cur: Cursor, org_id: UUID, user: dict[str, Any]) -> None:
        cur.execute("INSERT INTO rm_users (org_id, user_key, short_name, role, active, certified, pw_salt, pw_ops, "
                    "pw_mem, pk_pw, invite_proof) VALUES (%s, %s, %s, %s, 1, %s, %s, %s, %s, %s, %s)",
                    (str(org_id), short_name_key(user["short_name"]), user["short_name"], user["role"],
                     1 if user.get("cert") else 0, self.cipher.seal(org_id, "pw_salt", user["pw_salt"]),
                     user["pw_ops"], user["pw_mem"], self.cipher.seal(org_id, "pk_pw", user["pk_pw"]),
                     user.get("invite_proof", "")))

    @apply.register
    def _(self, event: Organisation.Registered, cur: Cursor) -> None:
        self._insert(cur, event.org_id, event.main_user)

    @apply.register
    def _(self, event: Organisation.UserAdded, cur: Cursor) -> None:
        self._insert(cur, event.org_id, event.user)

    @apply.register
    def _(self, event: Organisation.UserActivation, cur: Cursor) -> None:
        cur.execute("UPDATE rm_users SET active = %s WHERE org_id = %s AND user_key = %s",
                    (1 if event.active else 0, str(event.org_id), event.user_key))

    @apply.register
    def _(self, event: Organisation.PasswordChanged, cur: Cursor) -> None:
        cur.execute("UPDATE rm_users SET certified = %s, pw_salt = %s, pw_ops = %s, pw_mem = %s, pk_pw = %s, "
                    "invite_proof = '' WHERE org_id = %s AND user_key = %s",
                    (1 if event.cert else 0, self.cipher.seal(event.org_id, "pw_salt", event.pw_salt), event.pw_ops,
                     event.pw_mem, self.cipher.seal(event.org_id, "pk_pw", event.pk_pw), str(event.org_id),
                     event.user_key))

    @apply.register
    def _(self, event: Organisation.RoleChanged, cur: Cursor) -> None:
        cur.execute("UPDATE rm_users SET role = %s, certified = 1 WHERE org_id = %s AND user_key = %s",
                    (event.role, str(event.org_id), event.user_key))

    @apply.register
    def _(self, event: Organisation.InviteProven, cur: Cursor) -> None:
        cur.execute("UPDATE rm_users SET invite_proof = %s WHERE org_id = %s AND user_key = %s",
                    (event.proof, str(event.org_id), event.user_key))

    @apply.register
    def _(self, event: Organisation.UserCertified, cur: Cursor) -> None:
        cur.execute("UPDATE rm_users SET certified = 1 WHERE org_id = %s AND user_key = %s",
                    (str(event.org_id), event.user_key))

    @staticmethod
    def rows(cur: Cursor, org_id: UUID, cipher: ReadModelCipher) -> list[dict[str, Any]]:
        rows = cur.execute("SELECT short_name, role, active, certified, pw_salt, pw_ops, pw_mem, pk_pw, invite_proof "
                           "FROM rm_users WHERE org_id = %s ORDER BY user_key", (str(org_id),)).fetchall()
        return [{"user_short": r[0], "role": r[1], "active": bool(r[2]), "certified": bool(r[3]),
                 "pw_salt": cipher.open(org_id, "pw_salt", r[4]), "pw_ops": int(r[5]), "pw_mem": int(r[6]),
                 "pk_pw": cipher.open(org_id, "pk_pw", r[7]), "invite_proof": r[8]} for r in rows]

    topics = handled_topics(apply)  # the events it applies; no other is decoded for it


class NoticeBoard:
    """Security notices for every device of the organisation: recovery attempts and new device requests."""

    name = "notices"
    tables: ClassVar[dict[str, str]] = {"rm_notices": "org_id"}  # table -> organisation column
    retention: ClassVar[dict[str, Retention]] = {"rm_notices": Pruned("at")}  # with the IP prefixes of recoveries

    def __init__(self, open_metadata: Callable[[str], str] = lambda stored: stored):
        self.open_metadata = open_metadata  # the event's IP prefix is sealed under its month's key

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_notices (org_id TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, "
                "kind TEXT NOT NULL, device_name TEXT NOT NULL, detail TEXT NOT NULL)",
                "CREATE INDEX IF NOT EXISTS rm_notices_org ON rm_notices (org_id, at)"]

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    def _add(self, cur: Cursor, org_id: UUID, at: float, kind: str, device_name: str, detail: str) -> None:
        cur.execute("INSERT INTO rm_notices (org_id, at, kind, device_name, detail) VALUES (%s, %s, %s, %s, %s)",
                    (str(org_id), at, kind, device_name, detail))

    @apply.register
    def _(self, event: Organisation.RecoveryNoticed, cur: Cursor) -> None:
        self._add(cur, event.org_id, event.at, "recovery-" + event.outcome, event.device_name,
                  self.open_metadata(event.ip_prefix))

    @apply.register
    def _(self, event: Device.Enrolled, cur: Cursor) -> None:
        self._add(cur, event.org_id, event.requested_at, "device-requested", event.name, event.requested_by)

    @staticmethod
    def rows(cur: Cursor, org_id: UUID, limit: int = 50) -> list[dict[str, Any]]:
        rows = cur.execute("SELECT at, kind, device_name, detail FROM rm_notices WHERE org_id = %s "
                           "ORDER BY at DESC LIMIT %s", (str(org_id), limit)).fetchall()
        return [{"at": _iso(r[0]), "kind": r[1], "device_name": r[2], "detail": r[3]} for r in rows]

    topics = handled_topics(apply)  # the events it applies; no other is decoded for it
