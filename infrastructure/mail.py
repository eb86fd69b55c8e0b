"""Outgoing e-mail over SMTP (standard library client). Bodies are plain German text; addresses and
contents are never logged."""

from __future__ import annotations

import base64
import logging
import secrets
import smtplib
from email.message import EmailMessage
from typing import Any

from infrastructure.outbox import SqlOutbox

log = logging.getLogger("sprechzimmer.mail")


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, to: str, subject: str, body: str,
             attachments: list[tuple[str, str, bytes]] | None = None) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        for filename, mime, data in attachments or []:
            maintype, _, subtype = mime.partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)
        log.info("mail sent: %s", subject)


class OutboxMailer:
    """Every mail goes through the outbox: recorded before it is sent, never sent twice under one key. Callers
    that may run again (the erasure, jobs) pass a key naming the side effect; others get a fresh one, so their
    mail is still retried by the outbox job if the mail server is down."""

    def __init__(self, smtp: SmtpMailer, outbox: SqlOutbox):
        self.smtp = smtp
        self.outbox = outbox
        outbox.register("mail", self._send)

    def _send(self, payload: dict[str, Any]) -> None:
        attachments = [(name, mime, base64.b64decode(data)) for name, mime, data in payload.get("attachments", [])]
        self.smtp.send(payload["to"], payload["subject"], payload["body"], attachments)

    def send(self, to: str, subject: str, body: str, key: str | None = None,
             attachments: list[tuple[str, str, bytes]] | None = None) -> None:
        payload: dict[str, Any] = {"to": to, "subject": subject, "body": body}
        if attachments:  # kept (base64) until sent, so a retry sends the same document
            payload["attachments"] = [(name, mime, base64.b64encode(data).decode()) for name, mime, data in attachments]
        self.outbox.deliver("mail:" + (key or secrets.token_hex(16)), "mail", payload)
