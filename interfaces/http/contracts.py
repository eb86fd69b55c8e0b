"""Vertrag and Rechnungen: contract view, plan changes, cancellation and its revocation, invoices."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
from apispec import APISpec
from marshmallow import Schema, fields

from application import billing, contracts
from application.access import Session
from domain.contract import MSG_CONFIRM
from interfaces.http.common import Resource, Runtime, load
from interfaces.http.devices import proof_field
from interfaces.http.openapi import operation
from interfaces.http.schemas import BillingSchema, GermanSchema, _true


class CancellationSchema(GermanSchema):
    confirm = _true(MSG_CONFIRM)
    proof = proof_field()


class UpgradeSchema(BillingSchema):
    proof = proof_field()


class DowngradeSchema(GermanSchema):
    proof = proof_field()


class ContractSchema(Schema):
    plan = fields.String()
    concluded_on = fields.String()
    next_plan = fields.String(allow_none=True)
    next_plan_from = fields.String(allow_none=True)
    bank = fields.Dict(allow_none=True)
    creditor_id = fields.String()
    cancelled_on = fields.String(allow_none=True)
    ends_on = fields.String(allow_none=True)
    erasure_on = fields.String(allow_none=True)
    revocable = fields.Boolean()
    cancellation_ends_on = fields.String(allow_none=True)
    prices = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()))


class InvoiceSchema(Schema):
    number = fields.String()
    month = fields.String()
    issued_on = fields.String()
    users = fields.Integer()
    sms = fields.Integer()
    net = fields.String()
    vat_rate = fields.String()
    vat = fields.String()
    gross = fields.String()
    lines = fields.List(fields.Dict())
    mandate_reference = fields.String()


class InvoiceListSchema(Schema):
    invoices = fields.List(fields.Nested(InvoiceSchema))


def _dump(view: contracts.ContractView) -> dict[str, Any]:
    result: dict[str, Any] = ContractSchema().dump(view)
    return result


class ContractResource(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        resp.media = _dump(await self.runtime.call(contracts.show, self.services, session))


class Upgrade(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        data = await load(req, UpgradeSchema())
        proof = data.pop("proof")
        resp.media = _dump(await self.runtime.call(contracts.upgrade, self.services, session, data, proof))


class Downgrade(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        data = await load(req, DowngradeSchema())
        resp.media = _dump(await self.runtime.call(contracts.downgrade, self.services, session, data["proof"]))


class Cancellation(Resource):
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        data = await load(req, CancellationSchema())
        resp.status = falcon.HTTP_201
        resp.media = _dump(await self.runtime.call(contracts.cancel, self.services, session, data["confirm"],
                                                   data["proof"]))

    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)
        resp.media = _dump(await self.runtime.call(contracts.revoke, self.services, session))


def _role(services: Any, session: Session) -> str:
    organisation = services.events.get(session.org_id)
    user = organisation.user(session.user_key) if organisation else None
    return str(user.role) if user else ""


class Invoices(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        session = await self.session(req)

        def listing() -> list[dict[str, Any]]:
            found = billing.invoices_of(self.services, session.org_id, _role(self.services, session))
            return [{"number": inv.number, "month": inv.month, "issued_on": inv.issued_on, "users": inv.users,
                     "sms": inv.sms, **{k: inv.amounts[k] for k in ("net", "vat_rate", "vat", "gross", "lines")},
                     "mandate_reference": inv.debit["mandate_reference"]} for inv in found]

        resp.media = InvoiceListSchema().dump({"invoices": await self.runtime.call(listing)})


class InvoicePdf(Resource):
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, number: str) -> None:
        session = await self.session(req)

        def render() -> bytes:
            return billing.invoice_pdf(self.services, session.org_id, _role(self.services, session), number)

        resp.data = await self.runtime.call(render)
        resp.content_type = "application/pdf"
        resp.set_header("Content-Disposition", f'attachment; filename="Rechnung-{number}.pdf"')


def add_routes(app: falcon.asgi.App, runtime: Runtime) -> None:
    app.add_route("/api/v1/contract", ContractResource(runtime))
    app.add_route("/api/v1/contract/upgrade", Upgrade(runtime))
    app.add_route("/api/v1/contract/downgrade", Downgrade(runtime))
    app.add_route("/api/v1/contract/cancellation", Cancellation(runtime))
    app.add_route("/api/v1/invoices", Invoices(runtime))
    app.add_route("/api/v1/invoices/{number}/pdf", InvoicePdf(runtime))


def add_openapi(spec: APISpec) -> None:
    for name, schema in [("Contract", ContractSchema), ("Upgrade", UpgradeSchema), ("Downgrade", DowngradeSchema),
                         ("Cancellation", CancellationSchema), ("InvoiceList", InvoiceListSchema)]:
        spec.components.schema(name, schema=schema)
    if "Billing" not in spec.components.schemas:  # registered with the registration form when that comes first
        spec.components.schema("Billing", schema=BillingSchema)
    spec.path("/api/v1/contract", operations={"get": operation(
        "Vertrag anzeigen", None, (200, "Contract"), (401, 403), True)})
    spec.path("/api/v1/contract/upgrade", operations={"post": operation(
        "Vertragswechsel zu plus (mit SEPA-Lastschriftmandat; Gerätebestätigung)", "Upgrade", (200, "Contract"),
        (400, 401, 403, 409), True)})
    spec.path("/api/v1/contract/downgrade", operations={"post": operation(
        "Vertragswechsel zu basis (zum Monatsende; Gerätebestätigung)", "Downgrade", (200, "Contract"),
        (400, 401, 403, 409), True)})
    spec.path("/api/v1/contract/cancellation", operations={
        "post": operation("Vertrag kündigen und Daten löschen (Gerätebestätigung)", "Cancellation", (201, "Contract"),
                          (400, 401, 403, 409), True),
        "delete": operation("Kündigung widerrufen", None, (200, "Contract"), (401, 403, 409), True)})
    spec.path("/api/v1/invoices", operations={"get": operation(
        "Rechnungen der Organisation", None, (200, "InvoiceList"), (401, 403), True)})
    spec.path("/api/v1/invoices/{number}/pdf", operations={"get": operation(
        "Rechnung als PDF", None, (200, None), (401, 403, 404), True,
        [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}])})
