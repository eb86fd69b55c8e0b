"""Client side of the contract context: thin calls over the HTTP API. Plan changes and cancellation are
sensitive actions: each carries a fresh signature of this device over a fresh server nonce (§4.2)."""

from __future__ import annotations

from typing import Any

from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol.keys import DeviceKeys
from sprechzimmer_protocol.names import short_name_key
from sprechzimmer_protocol.primitives import sign
from sprechzimmer_protocol.values import BankMandate

from .devices import MSG_LOGIN_FIRST
from .sdk import ApiError, Client


def contract_proof(client: Client, action: str) -> dict[str, str]:
    """This device's signature over a fresh server nonce, bound to the action and the organisation. Works from
    the stored session too, as the CLI runs one command per process without logging in again."""
    org_short = client.session.org_short if client.session else (client.store.session() or {}).get("org_short")
    record = client.store.device(client.origin, short_name_key(org_short)) if org_short else None
    if record is None:
        raise ApiError(401, MSG_LOGIN_FIRST)
    challenge = client.request("POST", "/api/v1/auth/fresh", {"origin": client.origin}, auth=True)
    message = t.sensitive(record.org_id, record.device_id, action, record.org_id, bytes.fromhex(challenge["nonce"]),
                          client.origin)
    signature = sign(DeviceKeys.from_seed(bytes.fromhex(record.seed)).signing, message)
    return {"challenge_id": challenge["challenge_id"], "sig": signature.hex()}


def show(client: Client) -> dict[str, Any]:
    result: dict[str, Any] = client.request("GET", "/api/v1/contract", auth=True)
    return result


def upgrade(client: Client, account_holder: str, iban: str, bic: str, sepa_mandate: bool) -> dict[str, Any]:
    mandate = BankMandate(account_holder, iban, bic, sepa_mandate)
    result: dict[str, Any] = client.request("POST", "/api/v1/contract/upgrade",
                                            {**mandate.to_wire(), "proof": contract_proof(client, "contract-upgrade")},
                                            auth=True)
    return result


def downgrade(client: Client) -> dict[str, Any]:
    result: dict[str, Any] = client.request("POST", "/api/v1/contract/downgrade",
                                            {"proof": contract_proof(client, "contract-downgrade")}, auth=True)
    return result


def cancel(client: Client, confirm: bool) -> dict[str, Any]:
    result: dict[str, Any] = client.request("POST", "/api/v1/contract/cancellation", {
        "confirm": confirm, "proof": contract_proof(client, "contract-cancel")}, auth=True)
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
