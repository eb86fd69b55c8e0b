"""Operations: liveness, the status page and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
from apispec import APISpec

from application import billing
from interfaces.http import schemas
from interfaces.http.common import Resource, Runtime
from interfaces.http.openapi import build_spec, operation
from projections.organisations import OrganisationDirectory


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
                    "event_position": position, "projections": projections, "organisations": organisations,
                    "billing": billing.status(container.services)}

        resp.media = schemas.StatusSchema().dump(await self.runtime.call(probe))


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
    spec.path("/api/v1/status", operations={"get": operation("Status", None, (200, "Status"), (503,))})
    spec.path("/healthz", operations={"get": operation("Lebenszeichen", None, (200, None), ())})
