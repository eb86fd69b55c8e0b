"""Arbeitsplätze/Endgeräte: enrolment, approval, rename, lock, unlock, revoke; fresh device proofs for
sensitive actions; the security notices shown on every device."""

from __future__ import annotations

import re
from typing import Any

import falcon
import falcon.asgi
from apispec import APISpec
from marshmallow import Schema, fields, validate

from application import devices, fresh
from application.errors import NotFound
from infrastructure.readmodel_cipher import ReadModelCipher
from interfaces.http import schemas
from interfaces.http.common import Resource, Runtime, client_ip, load
from interfaces.http.openapi import operation
from interfaces.http.schemas import MSG, GermanSchema, GrantSchema, _hex, _text
from projections.devices import DeviceDirectory, NoticeBoard

_DEVICE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def device_id_field() -> fields.String:
    return fields.String(required=True, validate=validate.Regexp(
        _DEVICE_ID, error="Die Geräte-ID hat 1 bis 64 Zeichen (Buchstaben, Ziffern, - und _)."), error_messages=MSG)


def checked_device_id(value: str) -> str:
    if not _DEVICE_ID.match(value):
        raise NotFound("Dieses Gerät gibt es in dieser Organisation nicht.", "device_id")
    return value


class ProofSchema(GermanSchema):
    challenge_id = _text(64)
    sig = _hex(64)


def proof_field() -> fields.Nested:
    return fields.Nested(ProofSchema, required=True, error_messages=MSG)


class FreshRequestSchema(GermanSchema):
    origin = _text(200)


class EnrollSchema(GermanSchema):
    challenge_id = _text(64)
    name = _text(64)
    dev_sign_pk = _hex(32)
    dev_box_pk = _hex(32)
    sig_pw = _hex(64)
    sig_dev = _hex(64)


class EnrollTagSchema(GermanSchema):
    org = _text(64)
    device_id = device_id_field()
    tag = _hex(32)
    sig = _hex(64)
    # After an invite (§8a.10): h("vdc/v1/invite-proof", org_id, user_key, pk_pw, key=kdf(s_inv, "vdciv_v1", 1)),
    # sent here because the employee learns org_id only from the redeem answer.
    invite_proof = fields.String(load_default="", validate=validate.Regexp(r"^([0-9a-f]{64})?$"),
                                 error_messages=MSG)


class EnrollStatusSchema(GermanSchema):
    challenge_id = _text(64)
    sig_pw = _hex(64)
    sig_dev = _hex(64)


class ApproveSchema(GermanSchema):
    cert = _hex(64)
    approved_at = _text(40)
    grant = fields.Nested(GrantSchema, required=True, error_messages=MSG)
    grant_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                                   error_messages={**MSG, "invalid": "Bitte eine ganze Zahl angeben."})
    approver_tag = _hex(32)
    proof = proof_field()


class RenameSchema(GermanSchema):
    name = _text(64)
    cert = _hex(64)
    proof = proof_field()


class LockSchema(GermanSchema):
    proof = proof_field()


class RotationSchema(GermanSchema):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=2),
                             error_messages={**MSG, "invalid": "Bitte eine ganze Zahl angeben."})
    mp_grant = fields.Nested(schemas.HeadedGrantSchema, required=True, error_messages=MSG)
    grants = fields.Dict(keys=fields.String(validate=validate.Regexp(_DEVICE_ID)),
                         values=fields.Nested(GrantSchema), required=True,
                         validate=validate.Length(max=500, error="Zu viele Geräte."), error_messages=MSG)


class RevokeSchema(GermanSchema):
    revoked_at = _text(40)
    revocation = _hex(64)
    rotation = fields.Nested(RotationSchema, required=False, allow_none=True, load_default=None,
                             error_messages=MSG)  # none only to reject a request that was never approved
    proof = proof_field()


class DeviceSchema(Schema):
    device_id = fields.String()
    name = fields.String()
    status = fields.String()
    requested_by = fields.String(allow_none=True)
    requested_at = fields.String(allow_none=True)
    approved_at = fields.String(allow_none=True)
    approver = fields.String(allow_none=True)
    dev_sign_pk = fields.String()
    dev_box_pk = fields.String()
    pairing_tag = fields.String(allow_none=True)
    keyring_version = fields.Integer()
    cert = fields.String(allow_none=True)


class NoticeSchema(Schema):
    at = fields.String()
    kind = fields.String()
    device_name = fields.String()
    detail = fields.String()


class DeviceListSchema(Schema):
    devices = fields.List(fields.Nested(DeviceSchema))
    notices = fields.List(fields.Nested(NoticeSchema))


class NoticeListSchema(Schema):
    notices = fields.List(fields.Nested(NoticeSchema))


class FreshResource(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        data = await load(req, FreshRequestSchema())
        challenge = await self.runtime.call(fresh.issue, self.services, session, data["origin"].rstrip("/"))
        resp.media = schemas.ChallengeSchema().dump(challenge)


class Enroll(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        d = await load(req, EnrollSchema())
        result = await self.runtime.call(devices.enroll, self.services, d["challenge_id"], d["name"],
                                         d["dev_sign_pk"], d["dev_box_pk"], bytes.fromhex(d["sig_pw"]),
                                         bytes.fromhex(d["sig_dev"]), client_ip(req))
        resp.status = falcon.HTTP_201
        resp.media = {"org_id": result.org_id, "device_id": result.device_id, "status": result.status}


class EnrollTag(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        d = await load(req, EnrollTagSchema())
        await self.runtime.call(devices.attach_pairing_tag, self.services, d["org"], d["device_id"], d["tag"],
                                bytes.fromhex(d["sig"]), d["invite_proof"])
        resp.status = falcon.HTTP_204


class EnrollStatus(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        d = await load(req, EnrollStatusSchema())
        status = await self.runtime.call(devices.pending_status, self.services, d["challenge_id"],
                                         bytes.fromhex(d["sig_pw"]), bytes.fromhex(d["sig_dev"]), client_ip(req))
        resp.media = {"status": status}


class DeviceList(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        container = self.runtime.container

        def read() -> dict[str, Any]:
            with container.state_db.transaction() as cur:
                return {"devices": DeviceDirectory.rows(cur, session.org_id, self.services.now(),
                                                       ReadModelCipher(self.services.keystore)),
                        "notices": NoticeBoard.rows(cur, session.org_id)}

        resp.media = DeviceListSchema().dump(await self.runtime.call(read))


class Notices(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        container = self.runtime.container

        def read() -> dict[str, Any]:
            with container.state_db.transaction() as cur:
                return {"notices": NoticeBoard.rows(cur, session.org_id)}

        resp.media = NoticeListSchema().dump(await self.runtime.call(read))


class DeviceAction(Resource):
    """POST /api/v1/devices/{device_id}/{action}"""

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, device_id: str,
                      action: str) -> None:
        session = await self.session(req)
        device_id = checked_device_id(device_id)
        s, call = self.services, self.runtime.call
        if action == "approve":
            d = await load(req, ApproveSchema())
            grant = {"version": d["grant_version"], **d["grant"]}
            await call(devices.approve, s, session, device_id, d["cert"], d["approved_at"], grant,
                       d["approver_tag"], d["proof"])
        elif action == "rename":
            d = await load(req, RenameSchema())
            await call(devices.rename, s, session, device_id, d["name"], d["cert"], d["proof"])
        elif action in ("lock", "unlock"):
            d = await load(req, LockSchema())
            await call(devices.set_locked, s, session, device_id, action == "lock", d["proof"])
        elif action == "revoke":
            d = await load(req, RevokeSchema())
            container = self.runtime.container

            def revoke() -> int:
                with container.state_db.transaction() as cur:
                    known = DeviceDirectory.device_ids(cur, session.org_id)
                return devices.revoke(s, session, device_id, d["revoked_at"], d["revocation"], d["rotation"],
                                      d["proof"], known)

            resp.media = {"keyring_version": await call(revoke)}
            return
        else:
            raise falcon.HTTPNotFound()
        resp.status = falcon.HTTP_204


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_route("/api/v1/auth/fresh", FreshResource(runtime))
    app.add_route("/api/v1/devices/enroll", Enroll(runtime))
    app.add_route("/api/v1/devices/enroll/tag", EnrollTag(runtime))
    app.add_route("/api/v1/devices/enroll/status", EnrollStatus(runtime))
    app.add_route("/api/v1/devices", DeviceList(runtime))
    app.add_route("/api/v1/devices/{device_id}/{action}", DeviceAction(runtime))
    app.add_route("/api/v1/notices", Notices(runtime))


def add_openapi(spec: APISpec) -> None:
    for name, schema in [
        ("FreshRequest", FreshRequestSchema), ("Enroll", EnrollSchema), ("EnrollTag", EnrollTagSchema),
        ("EnrollStatus", EnrollStatusSchema), ("Approve", ApproveSchema), ("Rename", RenameSchema),
        ("Lock", LockSchema), ("Revoke", RevokeSchema), ("DeviceList", DeviceListSchema),
        ("NoticeList", NoticeListSchema),
    ]:
        spec.components.schema(name, schema=schema)
    spec.path("/api/v1/auth/fresh", operations={"post": operation(
        "Frische Gerätebestätigung anfordern (Nonce)", "FreshRequest", (200, "Challenge"), (400, 401), True)})
    spec.path("/api/v1/devices/enroll", operations={"post": operation(
        "Neues Gerät zur Freischaltung anmelden", "Enroll", (201, None), (400, 401, 429))})
    spec.path("/api/v1/devices/enroll/tag", operations={"post": operation(
        "Kopplungsnachweis des neuen Geräts", "EnrollTag", (204, None), (400, 401, 409))})
    spec.path("/api/v1/devices/enroll/status", operations={"post": operation(
        "Status der eigenen Freischaltung", "EnrollStatus", (200, None), (400, 401))})
    spec.path("/api/v1/devices", operations={"get": operation(
        "Geräte und Hinweise", None, (200, "DeviceList"), (401,), True)})
    spec.path("/api/v1/notices", operations={"get": operation(
        "Sicherheitshinweise", None, (200, "NoticeList"), (401,), True)})
    for action, request, summary in [("approve", "Approve", "Gerät freigeben"), ("rename", "Rename", "Umbenennen"),
                                     ("lock", "Lock", "Sperren"), ("unlock", "Lock", "Entsperren"),
                                     ("revoke", "Revoke", "Entfernen und Schlüsselbund erneuern")]:
        spec.path(f"/api/v1/devices/{{device_id}}/{action}", operations={"post": operation(
            summary, request, (204 if action != "revoke" else 200, None), (400, 401, 403, 404, 409), True,
            parameters=[{"name": "device_id", "in": "path", "required": True, "schema": {"type": "string"}}])})
