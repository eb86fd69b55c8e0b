"""Masterpasswort-Wiederherstellung and master-password approval of a device (design/crypto.md §4.7)."""

from __future__ import annotations

import falcon
import falcon.asgi
from apispec import APISpec
from marshmallow import fields

from application import recovery
from interfaces.http import schemas
from interfaces.http.common import Resource, Runtime, client_ip, load
from interfaces.http.devices import device_id_field
from interfaces.http.openapi import operation
from interfaces.http.schemas import MSG, GermanSchema, GrantSchema, _hex, _optional_hex, _short_name, _text
from interfaces.http.users import password_field


class StartSchema(GermanSchema):
    org = _text(64)
    origin = _text(200)
    unlock = _optional_hex(16)  # the one-time code of an alarm mail: exempts this attempt from the org limit


class FinishSchema(GermanSchema):
    challenge_id = _text(64)
    device_id = device_id_field()
    name = _text(64)
    dev_sign_pk = _hex(32)
    dev_box_pk = _hex(32)
    sig_mp = _hex(64)
    sig_dev = _hex(64)


class ResetSchema(GermanSchema):
    user_short = _short_name()
    password = password_field()
    cert = _hex(64)
    sig_new = _hex(64)


class CompleteSchema(GermanSchema):
    recovery_token = _hex(32)
    cert = _hex(64)
    approved_at = _text(40)
    grant = fields.Nested(GrantSchema, required=True, error_messages=MSG)
    reset = fields.Nested(ResetSchema, required=False, allow_none=True, load_default=None, error_messages=MSG)
    master_cert = _optional_hex(64)


class Start(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        d = await load(req, StartSchema())
        challenge = await self.runtime.call(recovery.start, self.services, d["org"], d["origin"].rstrip("/"),
                                            client_ip(req), d["unlock"])
        resp.media = schemas.ChallengeSchema().dump(challenge)


class Finish(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        d = await load(req, FinishSchema())
        resp.media = await self.runtime.call(
            recovery.finish, self.services, d["challenge_id"], d["device_id"], d["name"], d["dev_sign_pk"],
            d["dev_box_pk"], bytes.fromhex(d["sig_mp"]), bytes.fromhex(d["sig_dev"]), client_ip(req))


class Complete(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        d = await load(req, CompleteSchema())
        resp.media = await self.runtime.call(recovery.complete, self.services, d["recovery_token"], d["cert"],
                                             d["approved_at"], d["grant"], d["reset"], d["master_cert"])


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_route("/api/v1/recovery/start", Start(runtime))
    app.add_route("/api/v1/recovery/finish", Finish(runtime))
    app.add_route("/api/v1/recovery/complete", Complete(runtime))


def add_openapi(spec: APISpec) -> None:
    for name, schema in [("RecoveryStart", StartSchema), ("RecoveryFinish", FinishSchema),
                         ("RecoveryComplete", CompleteSchema)]:
        spec.components.schema(name, schema=schema)
    spec.path("/api/v1/recovery/start", operations={"post": operation(
        "Wiederherstellung beginnen", "RecoveryStart", (200, "Challenge"), (400, 429))})
    spec.path("/api/v1/recovery/finish", operations={"post": operation(
        "Masterpasswort nachweisen", "RecoveryFinish", (200, None), (400, 401, 429))})
    spec.path("/api/v1/recovery/complete", operations={"post": operation(
        "Gerät freigeben, optional Passwort neu setzen", "RecoveryComplete", (200, None), (400, 401, 409))})
