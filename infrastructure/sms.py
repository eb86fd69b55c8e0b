"""SMS gateway adapter: one small HTTP call per SMS.

Wire format (JSON POST to SMS_GATEWAY_URL): {"to": "+49…" (E.164), "text": "…", "sender": "…"}, with
`Idempotency-Key: <key>` (the same invitation or reminder always carries the same key, so a gateway that
honours it never sends twice) and `Authorization: Bearer <SMS_GATEWAY_TOKEN>` when a token is set.
Any 2xx is success; everything else, and every network error or timeout, is SmsFailed. The number and
the text are never logged, and exceptions never carry them."""

from __future__ import annotations

import logging

import httpx
import phonenumbers

from application.ports import SmsFailed, SmsGateway
from infrastructure.outbox import SqlOutbox

log = logging.getLogger("sprechzimmer.sms")


def e164(number: str, region: str = "DE") -> str:
    """Raises ValueError for anything that cannot be a phone number."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("not a phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class HttpSmsGateway:
    def __init__(self, url: str, token: str | None = None, sender: str = "Praxis", timeout: float = 10.0):
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout

    def send(self, to: str, text: str, idempotency_key: str) -> None:
        try:
            number = e164(to)
        except ValueError:
            raise SmsFailed("invalid number") from None
        headers = {"Idempotency-Key": idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = httpx.post(self.url, json={"to": number, "text": text, "sender": self.sender},
                                  headers=headers, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise SmsFailed(f"gateway unreachable: {type(error).__name__}") from None
        if not response.is_success:
            raise SmsFailed(f"gateway answered {response.status_code}")
        log.info("sms handed to gateway (key %s)", idempotency_key)


class OutboxSms:
    """Records each SMS's idempotency key in the outbox before it is handed to the gateway and never hands the
    same key over twice: a crash after the gateway accepted an SMS and before the use case recorded it does not
    send it again on the rerun, even through a gateway that ignores `Idempotency-Key`. Number and text are not
    stored; a failed SMS is retried by its use case (the reminder job, the practice's retry)."""

    def __init__(self, gateway: SmsGateway, outbox: SqlOutbox):
        self.gateway = gateway
        self.outbox = outbox

    def send(self, to: str, text: str, idempotency_key: str) -> None:
        self.outbox.deliver_unstored("sms:" + idempotency_key, "sms",
                                     lambda: self.gateway.send(to, text, idempotency_key))
