"""Registrierung, Anmeldung, Sitzung."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
from apispec import APISpec

from application import access, legal, registration
from domain.contract import Contract
from interfaces.http import schemas
from interfaces.http.common import Resource, Runtime, client_ip, load
from interfaces.http.openapi import operation


class Registrations(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await load(req, schemas.RegistrationSchema())
        result = await self.runtime.call(registration.register, self.services, data, ip=client_ip(req))
        resp.status = falcon.HTTP_201
        resp.media = schemas.RegistrationResultSchema().dump(result)


# Built once: a login is the hottest request there is, and building a schema copies all its fields.
AUTH_START, CHALLENGE = schemas.AuthStartSchema(), schemas.ChallengeSchema()
AUTH_FINISH, LOGIN_RESULT = schemas.AuthFinishSchema(), schemas.LoginResultSchema()
LEGAL_PENDING = schemas.LegalPendingSchema(many=True)


class AuthStart(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await load(req, AUTH_START)
        challenge = await self.runtime.call(access.start, self.services, data["org"], data["user"],
                                            data["device_id"], data["origin"].rstrip("/"), client_ip(req))
        resp.media = CHALLENGE.dump(challenge)


class AuthFinish(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await load(req, AUTH_FINISH)
        result = await self.runtime.call(access.finish, self.services, data["challenge_id"],
                                         bytes.fromhex(data["sig_pw"]), bytes.fromhex(data["sig_dev"]),
                                         client_ip(req))
        media = LOGIN_RESULT.dump(result)
        # Nutzungsbedingungen or AVV in a version the organisation has not accepted: the client asks for it.
        media["legal_pending"] = LEGAL_PENDING.dump(legal.pending_given(self.services, result.accepted_legal))
        resp.media = media


class Logout(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        await self.runtime.call(access.logout, self.services, session)
        resp.status = falcon.HTTP_204


class CurrentSession(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)

        def describe() -> dict[str, Any]:
            events = self.services.events
            organisation = events.get(session.org_id)
            user = organisation.user(session.user_key)
            contract = events.get(Contract.id_for(session.org_id))
            device = events.device(session.org_id, session.device_id)
            # The device's grant (sealed to its own key) and the org key, as at login: a later command of the
            # same login reopens the keyring from them instead of logging in again (the keyring is never stored).
            return {"org_id": session.org_id, "org_short": organisation.short_name, "user_short": user.short_name,
                    "role": user.role, "device_id": session.device_id,
                    "plan": contract.plan_on(self.services.today()),
                    "org_sign_pk": organisation.org_sign_pk, "grant": device.latest_grant if device else None,
                    "legal_pending": legal.pending_for(self.services, organisation),
                    # The user's own verifier and certificate: resuming checks them as a login does (§8a.10).
                    "user_cert": user.cert, "keyring_head": organisation.keyring_head,
                    "password": {"salt": user.pw_salt, "ops": user.pw_ops, "mem": user.pw_mem, "pk_pw": user.pk_pw}}

        resp.media = schemas.SessionInfoSchema().dump(await self.runtime.call(describe))


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_route("/api/v1/registrations", Registrations(runtime))
    app.add_route("/api/v1/auth/start", AuthStart(runtime))
    app.add_route("/api/v1/auth/finish", AuthFinish(runtime))
    app.add_route("/api/v1/auth/logout", Logout(runtime))
    app.add_route("/api/v1/session", CurrentSession(runtime))


def add_openapi(spec: APISpec) -> None:
    for name, schema in [
        ("Registration", schemas.RegistrationSchema), ("RegistrationResult", schemas.RegistrationResultSchema),
        ("AuthStart", schemas.AuthStartSchema), ("Challenge", schemas.ChallengeSchema),
        ("AuthFinish", schemas.AuthFinishSchema), ("LoginResult", schemas.LoginResultSchema),
        ("SessionInfo", schemas.SessionInfoSchema),
    ]:
        spec.components.schema(name, schema=schema)
    spec.path("/api/v1/registrations", operations={"post": operation(
        "Organisation registrieren", "Registration", (201, "RegistrationResult"), (400, 409, 413, 415, 429, 503))})
    spec.path("/api/v1/auth/start", operations={"post": operation(
        "Anmeldung beginnen (Challenge)", "AuthStart", (200, "Challenge"), (400, 429))})
    spec.path("/api/v1/auth/finish", operations={"post": operation(
        "Anmeldung abschließen", "AuthFinish", (200, "LoginResult"), (400, 401, 429))})
    spec.path("/api/v1/auth/logout", operations={"post": operation("Abmelden", None, (204, None), (401,), True)})
    spec.path("/api/v1/session", operations={"get": operation(
        "Aktuelle Sitzung", None, (200, "SessionInfo"), (401,), True)})
