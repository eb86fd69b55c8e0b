"""Client side of the contract context: thin calls over the HTTP API (no client-side crypto is involved)."""

from __future__ import annotations

from typing import Any

from sprechzimmer_protocol.values import BankMandate

from .sdk import Client


def show(client: Client) -> dict[str, Any]:
    result: dict[str, Any] = client.request("GET", "/api/v1/contract", auth=True)
    return result


def upgrade(client: Client, account_holder: str, iban: str, bic: str, sepa_mandate: bool) -> dict[str, Any]:
    mandate = BankMandate(account_holder, iban, bic, sepa_mandate)
    result: dict[str, Any] = client.request("POST", "/api/v1/contract/upgrade", mandate.to_wire(), auth=True)
    return result


def downgrade(client: Client) -> dict[str, Any]:
    result: dict[str, Any] = client.request("POST", "/api/v1/contract/downgrade", {}, auth=True)
    return result


def cancel(client: Client, confirm: bool) -> dict[str, Any]:
    result: dict[str, Any] = client.request("POST", "/api/v1/contract/cancellation", {"confirm": confirm}, auth=True)
    return result


def revoke(client: Client) -> dict[str, Any]:
    result: dict[str, Any] = client.request("DELETE", "/api/v1/contract/cancellation", auth=True)
    return result


def invoices(client: Client) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = client.request("GET", "/api/v1/invoices", auth=True)["invoices"]
    return result


def invoice_pdf(client: Client, number: str) -> bytes:
    token = client.session.token if client.session else (client.store.session() or {}).get("token")
    response = client.http.get(f"/api/v1/invoices/{number}/pdf", headers={"Authorization": f"Bearer {token}"})
    if response.status_code >= 400:
        client.request("GET", f"/api/v1/invoices/{number}/pdf", auth=True)  # raises the ApiError with detail
    return response.content
