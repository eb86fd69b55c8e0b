"""Rechtliches: the legal texts without login, as server-rendered pages (/rechtliches/…, no JavaScript, the app's
CSP) and as JSON (/api/v1/legal/…); the acceptance of new versions after login and the written confirmation of
the AVV as PDF (plus)."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
from apispec import APISpec
from marshmallow import Schema, fields

from application import legal
from infrastructure import legal_texts
from infrastructure.avv_pdf import AvvConfirmation, render_avv_confirmation
from interfaces.http import schemas
from interfaces.http.common import Resource, Runtime, load
from interfaces.http.openapi import operation
from interfaces.http.web import CSP

MSG_UNKNOWN = "Dieses Dokument gibt es nicht. Verfügbar: " + ", ".join(legal_texts.DOCUMENTS) + "."


class LegalSummarySchema(Schema):
    document = fields.String()
    title = fields.String()
    version = fields.String()
    url = fields.String()


class LegalDocumentSchema(LegalSummarySchema):
    markdown = fields.String()
    html = fields.String()


class LegalIndexSchema(Schema):
    documents = fields.List(fields.Nested(LegalSummarySchema))


class LegalPendingListSchema(Schema):
    legal_pending = fields.List(fields.Nested(schemas.LegalPendingSchema))


def _document(resource: Resource, name: str) -> legal_texts.LegalDocument:
    if name not in legal_texts.DOCUMENTS:
        raise falcon.HTTPNotFound(description=MSG_UNKNOWN)
    return legal_texts.document(name, resource.runtime.container.settings)


def _describe(doc: legal_texts.LegalDocument) -> dict[str, Any]:
    return {"document": doc.name, "title": doc.title, "version": doc.version, "url": f"/rechtliches/{doc.name}",
            "markdown": doc.markdown, "html": doc.html}


class Page(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, document: str) -> None:
        doc = _document(self, document)
        resp.content_type = "text/html; charset=utf-8"
        resp.set_header("Content-Security-Policy", CSP)
        resp.text = legal_texts.page(doc, self.runtime.container.settings)

    on_head = on_get


class PageIndex(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise falcon.HTTPFound("/rechtliches/nutzungsbedingungen")

    on_head = on_get


class Document(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, document: str) -> None:
        resp.media = LegalDocumentSchema().dump(_describe(_document(self, document)))


class Index(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        docs = [_describe(_document(self, name)) for name in legal_texts.DOCUMENTS]
        resp.media = LegalIndexSchema().dump({"documents": docs})


class Acceptances(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        data = await load(req, schemas.LegalAcceptanceSchema())
        still = await self.runtime.call(legal.accept, self.services, session, data["documents"])
        resp.media = LegalPendingListSchema().dump({"legal_pending": still})


class AvvConfirmationPdf(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        settings = self.runtime.container.settings

        def render() -> bytes:
            accepted = legal.avv_acceptance(self.services, session)
            return render_avv_confirmation(AvvConfirmation(
                operator_name=settings.operator_name, operator_address=settings.seller_address,
                practice_name=accepted.practice_name, practice_address=accepted.practice_address,
                version=accepted.version, accepted_on=accepted.accepted_on, issued_on=self.services.today(),
                subprocessors=settings.subprocessors))

        resp.data = await self.runtime.call(render)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", 'attachment; filename="AVV-Bestaetigung.pdf"')


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    # Routes win over web.py's catch-all sink, so these pages are never the browser app.
    app.add_route("/rechtliches", PageIndex(runtime))
    app.add_route("/rechtliches/{document}", Page(runtime))
    app.add_route("/api/v1/legal", Index(runtime))
    app.add_route("/api/v1/legal/acceptances", Acceptances(runtime))
    app.add_route("/api/v1/legal/avv/confirmation", AvvConfirmationPdf(runtime))
    app.add_route("/api/v1/legal/{document}", Document(runtime))


def add_openapi(spec: APISpec) -> None:
    for name, schema in [("LegalSummary", LegalSummarySchema), ("LegalDocument", LegalDocumentSchema),
                         ("LegalIndex", LegalIndexSchema),
                         ("LegalAcceptance", schemas.LegalAcceptanceSchema),
                         ("LegalPendingList", LegalPendingListSchema)]:
        spec.components.schema(name, schema=schema)
    spec.path("/api/v1/legal", operations={"get": operation(
        "Rechtliche Dokumente mit aktueller Fassung (ohne Anmeldung)", None, (200, "LegalIndex"), ())})
    spec.path("/api/v1/legal/{document}", operations={"get": operation(
        "Ein rechtliches Dokument (ohne Anmeldung)", None, (200, "LegalDocument"), (404,), False,
        [{"name": "document", "in": "path", "required": True,
          "schema": {"type": "string", "enum": list(legal_texts.DOCUMENTS)}}])})
    spec.path("/api/v1/legal/acceptances", operations={"post": operation(
        "Neuen Fassungen von Nutzungsbedingungen und AVV zustimmen (Administratoren)", "LegalAcceptance",
        (200, "LegalPendingList"), (400, 401, 403), True)})
    spec.path("/api/v1/legal/avv/confirmation", operations={"get": operation(
        "Schriftliche Bestätigung des AVV als PDF (plus, Administratoren)", None, (200, None), (400, 401, 403),
        True)})
