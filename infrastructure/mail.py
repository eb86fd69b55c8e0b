"""Outgoing e-mail over SMTP (standard library client). Bodies are plain German text; addresses and
contents are never logged."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

log = logging.getLogger("sprechzimmer.mail")


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)
        log.info("mail sent: %s", subject)
