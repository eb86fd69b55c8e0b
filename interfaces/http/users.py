"""Benutzer, Passwort- und Masterpasswort-Änderung, Einladungen, Stammdaten."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
from apispec import APISpec
from marshmallow import Schema, fields

from application import stammdaten, users
from application.errors import NotFound
from domain import values
from infrastructure.readmodel_cipher import ReadModelCipher
from interfaces.http.common import Resource, Runtime, client_ip, load
from interfaces.http.devices import proof_field
from interfaces.http.openapi import operation
from interfaces.http.schemas import (
    MSG,
    AddressSchema,
    GermanSchema,
    GrantSchema,
    MainUserSchema,
    OrganisationSchema,
    _choice,
    _hex,
    _int,
    _short_name,
    _text,
)
from projections.devices import UserDirectory


class NewPasswordSchema(GermanSchema):
    salt = _hex(16)
    ops = _int(1, 16)
    mem = _int(8 * 1024, 4 * 1024**3)
    pk_pw = _hex(32)


def password_field() -> fields.Nested:
    return fields.Nested(NewPasswordSchema, required=True, error_messages=MSG)


class AddUserSchema(GermanSchema):
    user_short = _short_name()
    role = _choice(values.ROLES)
    password = password_field()
    cert = _hex(64)
    sig_new = _hex(64)
    proof = proof_field()


class InviteSchema(GermanSchema):
    user_short = _short_name()
    role = _choice(values.ROLES)
    token = _hex(32)
    proof = proof_field()


class RedeemSchema(GermanSchema):
    challenge_id = _text(64)
    token = _hex(32)
    name = _text(64)
    dev_sign_pk = _hex(32)
    dev_box_pk = _hex(32)
    password = password_field()
    sig_pw = _hex(64)
    sig_dev = _hex(64)


class ProofOnlySchema(GermanSchema):
    proof = proof_field()


class ResetSchema(GermanSchema):
    password = password_field()
    cert = _hex(64)
    sig_new = _hex(64)
    proof = proof_field()


class RoleSchema(GermanSchema):
    role = _choice(values.ROLES)
    cert = _hex(64)
    proof = proof_field()


class CertifySchema(GermanSchema):
    cert = _hex(64)
    proof = proof_field()


class PasswordChangeSchema(GermanSchema):
    password = password_field()
    cert = _hex(64)
    sig_old = _hex(64)
    sig_new = _hex(64)
    proof = proof_field()


class NewMasterSchema(GermanSchema):
    salt = _hex(16)
    ops = _int(1, 16)
    mem = _int(8 * 1024, 4 * 1024**3)
    sign_pk = _hex(32)
    box_pk = _hex(32)
    anchor = _hex(32)
    cert = _hex(64)


class MasterChangeSchema(GermanSchema):
    master = fields.Nested(NewMasterSchema, required=True, error_messages=MSG)
    mp_grant = fields.Nested(GrantSchema, required=True, error_messages=MSG)
    sig_old = _hex(64)
    sig_new = _hex(64)
    proof = proof_field()


class StammdatenSchema(GermanSchema):
    """The registration's own sections and rules; no short name, so it cannot be changed here."""

    organisation = fields.Nested(OrganisationSchema, required=True, error_messages=MSG)
    address = fields.Nested(AddressSchema, required=True, error_messages=MSG)
    main_user = fields.Nested(MainUserSchema, required=True, error_messages=MSG)


class UserSchema(Schema):
    user_short = fields.String()
    role = fields.String()
    active = fields.Boolean()
    certified = fields.Boolean()
    pw_salt = fields.String()
    pw_ops = fields.Integer()
    pw_mem = fields.Integer()
    pk_pw = fields.String()
    invite_proof = fields.String()  # set while an invited user waits for certification (§8a.10)


class UserListSchema(Schema):
    users = fields.List(fields.Nested(UserSchema))


def _user_path(value: str) -> str:
    if not values.is_short_name(value) or len(value) > 64:
        raise NotFound("Diesen Benutzer gibt es in dieser Organisation nicht.", "user")
    return value


class Users(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        container = self.runtime.container

        def read() -> dict[str, Any]:
            with container.state_db.transaction() as cur:
                rows = UserDirectory.rows(cur, session.org_id, ReadModelCipher(self.services.keystore))
            return {"users": users.visible_users(self.services, session, rows)}

        resp.media = UserListSchema().dump(await self.runtime.call(read))

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        d = await load(req, AddUserSchema())
        await self.runtime.call(users.add_user, self.services, session, d["user_short"], d["role"], d["password"],
                                d["cert"], d["sig_new"], d["proof"])
        resp.status = falcon.HTTP_201
        resp.media = {"user_short": d["user_short"], "role": d["role"]}


class UserAction(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user: str, action: str) -> None:
        session = await self.session(req)
        user = _user_path(user)
        s, call = self.services, self.runtime.call
        if action in ("deactivate", "reactivate"):
            d = await load(req, ProofOnlySchema())
            await call(users.set_active, s, session, user, action == "reactivate", d["proof"])
        elif action == "password":
            d = await load(req, ResetSchema())
            await call(users.reset_password, s, session, user, d["password"], d["cert"], d["sig_new"], d["proof"])
        elif action == "role":
            d = await load(req, RoleSchema())
            await call(users.change_role, s, session, user, d["role"], d["cert"], d["proof"])
        elif action == "certificate":
            d = await load(req, CertifySchema())
            await call(users.certify, s, session, user, d["cert"], d["proof"])
        else:
            raise falcon.HTTPNotFound()
        resp.status = falcon.HTTP_204


class Invites(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        d = await load(req, InviteSchema())
        await self.runtime.call(users.invite, self.services, session, d["user_short"], d["role"], d["token"],
                                d["proof"])
        resp.status = falcon.HTTP_201
        resp.media = {"user_short": d["user_short"], "valid_hours": int(users.INVITE_TTL // 3600)}


class InviteRedeem(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        d = await load(req, RedeemSchema())
        resp.status = falcon.HTTP_201
        resp.media = await self.runtime.call(
            users.redeem_invite, self.services, d["challenge_id"], d["token"], d["name"], d["dev_sign_pk"],
            d["dev_box_pk"], d["password"], bytes.fromhex(d["sig_pw"]), bytes.fromhex(d["sig_dev"]), client_ip(req))


class Password(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        d = await load(req, PasswordChangeSchema())
        revoked = await self.runtime.call(users.change_password, self.services, session, d["password"], d["cert"],
                                          d["sig_old"], d["sig_new"], d["proof"])
        resp.media = {"other_sessions_ended": revoked}


class MasterPassword(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        resp.media = await self.runtime.call(users.master_params, self.services, session)

    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        d = await load(req, MasterChangeSchema())
        revoked = await self.runtime.call(users.change_master, self.services, session, d["master"], d["mp_grant"],
                                          d["sig_old"], d["sig_new"], d["proof"])
        resp.media = {"other_sessions_ended": revoked}


class Stammdaten(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        resp.media = await self.runtime.call(stammdaten.show, self.services, session)

    async def on_put(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        d = await load(req, StammdatenSchema())
        resp.media = await self.runtime.call(stammdaten.update, self.services, session, d)


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_route("/api/v1/users", Users(runtime))
    app.add_route("/api/v1/users/{user}/{action}", UserAction(runtime))
    app.add_route("/api/v1/invites", Invites(runtime))
    app.add_route("/api/v1/invites/redeem", InviteRedeem(runtime))
    app.add_route("/api/v1/password", Password(runtime))
    app.add_route("/api/v1/masterpassword", MasterPassword(runtime))
    app.add_route("/api/v1/stammdaten", Stammdaten(runtime))


def add_openapi(spec: APISpec) -> None:
    for name, schema in [
        ("AddUser", AddUserSchema), ("Invite", InviteSchema), ("Redeem", RedeemSchema), ("ProofOnly", ProofOnlySchema),
        ("PasswordReset", ResetSchema), ("Certify", CertifySchema), ("Role", RoleSchema),
        ("PasswordChange", PasswordChangeSchema),
        ("MasterChange", MasterChangeSchema), ("Stammdaten", StammdatenSchema), ("UserList", UserListSchema),
    ]:
        spec.components.schema(name, schema=schema)
    user_param = [{"name": "user", "in": "path", "required": True, "schema": {"type": "string"}}]
    spec.path("/api/v1/users", operations={
        "get": operation("Benutzer auflisten", None, (200, "UserList"), (401,), True),
        "post": operation("Benutzer anlegen", "AddUser", (201, None), (400, 401, 403, 409), True)})
    for action, request, summary in [("deactivate", "ProofOnly", "Deaktivieren"),
                                     ("reactivate", "ProofOnly", "Reaktivieren"),
                                     ("password", "PasswordReset", "Passwort neu setzen (Admin, vor Ort)"),
                                     ("role", "Role", "Rolle ändern (admin/staff)"),
                                     ("certificate", "Certify", "Benutzerzertifikat signieren")]:
        spec.path(f"/api/v1/users/{{user}}/{action}", operations={"post": operation(
            summary, request, (204, None), (400, 401, 403, 404, 409), True, parameters=user_param)})
    spec.path("/api/v1/invites", operations={"post": operation(
        "Einladungscode anlegen", "Invite", (201, None), (400, 401, 403), True)})
    spec.path("/api/v1/invites/redeem", operations={"post": operation(
        "Einladung einlösen (mit Geräteanmeldung)", "Redeem", (201, None), (400, 401, 429))})
    spec.path("/api/v1/password", operations={"post": operation(
        "Eigenes Passwort ändern", "PasswordChange", (200, None), (400, 401, 403), True)})
    spec.path("/api/v1/masterpassword", operations={
        "get": operation("Parameter des Masterpassworts", None, (200, None), (401,), True),
        "post": operation("Masterpasswort ändern", "MasterChange", (200, None), (400, 401, 403, 409), True)})
    spec.path("/api/v1/stammdaten", operations={
        "get": operation("Stammdaten", None, (200, None), (401,), True),
        "put": operation("Stammdaten ändern", "Stammdaten", (200, None), (400, 401, 403), True)})
