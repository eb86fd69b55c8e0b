"""Operations: liveness, the status page and the OpenAPI document."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import falcon
import falcon.asgi
from apispec import APISpec

from application import billing
from application.errors import AuthFailed
from interfaces.http import schemas
from interfaces.http.common import Resource, Runtime, bearer
from interfaces.http.openapi import build_spec, operation
from projections.organisations import OrganisationDirectory

BERLIN = ZoneInfo("Europe/Berlin")


class Health:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"status": "ok"}


def berlin(timestamp: float) -> str:
    """Times an operator reads are German local time (with the offset, so that machines read them too)."""
    return datetime.fromtimestamp(timestamp, BERLIN).isoformat(timespec="seconds")


class Status(Resource):
    """Status page. Anyone learns only whether the service is up (its database answers; otherwise 503); the
    details (database, event-log position, read models, practices per plan) need the operator token."""

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        container = self.runtime.container
        if not operator(req, container.settings.operator_token):
            def up() -> None:  # raises (503) while the database is down
                with container.state_db.transaction() as cur:
                    cur.execute("SELECT 1")

            await self.runtime.call(up)
            resp.media = {"status": "up"}
            return

        def probe() -> dict[str, Any]:
            with container.state_db.transaction() as cur:
                organisations = OrganisationDirectory.count(cur)
            position = container.services.events.position()
            projections = container.projections.positions()
            faults = {name: {"error": f.error, "failures": f.failures, "since": berlin(f.since),
                             "next_attempt": berlin(f.retry_at)}
                      for name, f in container.projections.faults().items()}
            behind = any(p < position for p in projections.values())
            # the signalling hub (calls): "degraded" while it cannot reach its database (PostgreSQL fan-out)
            signalling = container.calls.hub.health() if container.calls is not None else "ok"
            degraded = behind or bool(faults) or signalling != "ok"
            return {"status": "degraded" if degraded else "ok", "database": container.state_db.dialect,
                    "signalling": signalling, "event_position": position, "projections": projections,
                    "projection_faults": faults, "organisations": organisations,
                    "warnings": list(container.warnings),
                    "billing": billing.status(container.services)}

        resp.media = schemas.StatusSchema().dump(await self.runtime.call(probe))


def operator(req: falcon.asgi.Request, token: str | None) -> bool:
    """True for the operator's bearer token; no Authorization header is the public view, a wrong one a 401."""
    if req.get_header("Authorization") is None:
        return False
    given = bearer(req)
    # Compared as digests in constant time: neither the content nor the length of the token leaks.
    if token is None or not hmac.compare_digest(hashlib.sha256(given.encode()).digest(),
                                                hashlib.sha256(token.encode()).digest()):
        raise AuthFailed()
    return True


class OpenApi:
    def __init__(self) -> None:
        self.document: dict[str, Any] | None = None

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if self.document is None:
            self.document = build_spec()
        resp.media = self.document


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_route("/healthz", Health())
    app.add_route("/api/openapi.json", OpenApi())
    app.add_route("/api/v1/status", Status(runtime))


def add_openapi(spec: APISpec) -> None:
    spec.components.schema("Status", schema=schemas.StatusSchema)
    spec.path("/api/v1/status", operations={"get": operation(
        "Status: öffentlich nur „up“; Einzelheiten mit dem Betreiber-Token (Authorization: Bearer)", None,
        (200, "Status"), (401, 503))})
    spec.path("/healthz", operations={"get": operation("Lebenszeichen", None, (200, None), ())})
