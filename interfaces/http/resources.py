"""HTTP resources: thin adapters that validate, call a use case off the event loop, and shape the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import falcon
import falcon.asgi
from marshmallow import Schema, ValidationError

from application import access, registration
from application.access import Session
from application.errors import AuthFailed
from interfaces.bootstrap import Container
from interfaces.http import schemas
from projections.organisations import OrganisationDirectory

MAX_BODY = 64 * 1024
T = TypeVar("T")


class Runtime:
    """Holds the container, which is built in each worker after the fork (lifespan startup)."""

    def __init__(self, factory: Callable[[], Container]):
        self.factory = factory
        self._container: Container | None = None

    def start(self) -> None:
        if self._container is None:
            self._container = self.factory()

    def stop(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def container(self) -> Container:
        if self._container is None:
            raise falcon.HTTPServiceUnavailable()
        return self._container

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The event-sourcing library is synchronous: run it in a thread, never on the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)


async def load(req: falcon.asgi.Request, schema: Schema) -> dict[str, Any]:
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise falcon.HTTPContentTooLarge(description="Die Anfrage ist zu groß (höchstens 64 KiB).")
    if not (req.content_type or "").startswith("application/json"):
        raise falcon.HTTPUnsupportedMediaType(description="Bitte JSON senden (Content-Type: application/json).")
    body = await req.get_media()
    if not isinstance(body, dict):
        raise ValidationError({"_body": ["Ein JSON-Objekt wird erwartet."]})
    data: dict[str, Any] = schema.load(body)
    return data


def client_ip(req: falcon.asgi.Request) -> str:
    return req.remote_addr or "unknown"


def bearer(req: falcon.asgi.Request) -> str:
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > 128:
        raise AuthFailed()
    return token.strip()


class Resource:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    @property
    def services(self) -> Any:
        return self.runtime.container.services

    async def session(self, req: falcon.asgi.Request) -> Session:
        return await self.runtime.call(access.authenticate, self.services, bearer(req))


class Registrations(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await load(req, schemas.RegistrationSchema())
        result = await self.runtime.call(registration.register, self.services, data)
        resp.status = falcon.HTTP_201
        resp.media = schemas.RegistrationResultSchema().dump(result)


class AuthStart(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await load(req, schemas.AuthStartSchema())
        challenge = await self.runtime.call(access.start, self.services, data["org"], data["user"],
                                            data["device_id"], data["origin"].rstrip("/"), client_ip(req))
        resp.media = schemas.ChallengeSchema().dump(challenge)


class AuthFinish(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        data = await load(req, schemas.AuthFinishSchema())
        result = await self.runtime.call(access.finish, self.services, data["challenge_id"],
                                         bytes.fromhex(data["sig_pw"]), bytes.fromhex(data["sig_dev"]),
                                         client_ip(req))
        resp.media = schemas.LoginResultSchema().dump(result)


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
            contract = events.get(_contract_id(session.org_id))
            return {"org_id": session.org_id, "org_short": organisation.short_name, "user_short": user.short_name,
                    "role": user.role, "device_id": session.device_id, "plan": contract.plan}

        resp.media = schemas.SessionInfoSchema().dump(await self.runtime.call(describe))


def _contract_id(org_id: Any) -> Any:
    from domain.contract import Contract

    return Contract.id_for(org_id)


class Health:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"status": "ok"}


class Status(Resource):
    """Status page: database, event-log position and how far each read model has caught up."""

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        container = self.runtime.container

        def probe() -> dict[str, Any]:
            with container.state_db.transaction() as cur:
                organisations = OrganisationDirectory.count(cur)
            position = container.services.events.position()
            projections = container.projections.positions()
            behind = any(p < position for p in projections.values())
            return {"status": "degraded" if behind else "ok", "database": container.state_db.dialect,
                    "event_position": position, "projections": projections, "organisations": organisations}

        resp.media = schemas.StatusSchema().dump(await self.runtime.call(probe))
