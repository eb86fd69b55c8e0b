"""Mails to an organisation's admins about security events (recovery, master-password change). The
address is the organisation's contact (the main user's e-mail from the Stammdaten); bodies name no
secret. A mail server that is down must not undo the event: the notice on the devices remains."""

from __future__ import annotations

import logging

from application.services import Services
from domain.organisation import Organisation

log = logging.getLogger("sprechzimmer.notify")


def mail_admins(services: Services, organisation: Organisation, subject: str, body: str) -> bool:
    to = organisation.contact_email
    if not to:
        return False
    try:
        services.mailer.send(to, subject, body)
        return True
    except Exception as error:
        log.warning("security mail not sent (%s)", type(error).__name__)
        return False
