"""GET /api/v1/access-log: the practice's sealed access log, for its admins (opened on their devices)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import falcon
import falcon.asgi
from apispec import APISpec

from application import access_log
from interfaces.http.common import Resource, Runtime
from interfaces.http.openapi import operation

BERLIN = ZoneInfo("Europe/Berlin")


class AccessLogResource(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        entries = await self.runtime.call(access_log.entries, self.services, session.org_id, session.user_key)
        resp.media = {"entries": [{"at": datetime.fromtimestamp(e["at"], BERLIN).isoformat(timespec="seconds"),
                                   "sealed": e["sealed"]} for e in entries]}


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_route("/api/v1/access-log", AccessLogResource(runtime))


def add_openapi(spec: APISpec) -> None:
    spec.path("/api/v1/access-log", operations={"get": operation(
        "Zugriffsprotokoll der Praxis (versiegelt, nur Administratoren)", None, (200, None), (401, 403),
        secured=True)})
