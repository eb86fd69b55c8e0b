"""The auditor's read-only API (issue 14): envelopes with digests and chain, and the signed checkpoints.

Opened by an auditor token (`sprechzimmer audit token issue`), not by a practice session; payloads are never
served here — decrypting them is the operator's CLI's job, and each use of it is itself an audit event."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
from apispec import APISpec
from marshmallow import ValidationError

from application.errors import AuthFailed
from interfaces.http.common import Resource, Runtime, bearer
from interfaces.http.openapi import operation

PAGE_MAX = 1000


class AuditorResource(Resource):
    async def authorise(self, req: falcon.asgi.Request) -> None:
        tokens = self.runtime.container.auditor_tokens
        token = bearer(req)
        if tokens is None or not await self.runtime.call(tokens.valid, token):
            raise AuthFailed()


def _int(req: falcon.asgi.Request, name: str, default: int, low: int, high: int) -> int:
    raw = req.get_param(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["Eine ganze Zahl wird erwartet."]}) from None
    if not low <= value <= high:
        raise ValidationError({name: [f"Erlaubt sind {low} bis {high}."]})
    return value


class AuditEvents(AuditorResource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        await self.authorise(req)
        after = _int(req, "after", 0, 0, 2**62)
        limit = _int(req, "limit", 100, 1, PAGE_MAX)
        chain = self.runtime.container.chain
        assert chain is not None
        items = await self.runtime.call(chain.page, after, limit)
        body: dict[str, Any] = {"items": items, "next_after": items[-1]["position"] if len(items) == limit else None}
        resp.media = body


class AuditCheckpoints(AuditorResource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        await self.authorise(req)
        chain = self.runtime.container.chain
        assert chain is not None
        checkpoints = await self.runtime.call(chain.checkpoints)
        resp.media = {"items": [cp.to_json() for cp in checkpoints]}


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_route("/api/v1/audit/events", AuditEvents(runtime))
    app.add_route("/api/v1/audit/checkpoints", AuditCheckpoints(runtime))


def add_openapi(spec: APISpec) -> None:
    page = [{"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}}]
    spec.path("/api/v1/audit/events", operations={"get": operation(
        "Ereignis-Umschläge mit Prüfsummen und Kette (Prüfer-Token)", None, (200, None), (400, 401), secured=True,
        parameters=page)})
    spec.path("/api/v1/audit/checkpoints", operations={"get": operation(
        "Signierte Prüfpunkte (Prüfer-Token)", None, (200, None), (401,), secured=True)})
