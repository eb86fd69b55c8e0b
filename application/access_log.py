"""The practice's access log (issue 14, SPEC "encrypted access log"): logins and other uses of an account,
recorded for the practice's admins only.

Each entry is JSON sealed to the organisation's public box key (design/crypto.md: org_box_pk): the server writes
it and cannot read it back; an admin's device opens it with the keyring. Recording never fails the use case it
documents: a lost entry is logged, the login goes on."""

from __future__ import annotations

import json
import logging
from datetime import UTC
from typing import Any
from uuid import UUID

from application.errors import NotPermitted
from application.services import Services
from domain.organisation import Organisation

log = logging.getLogger("sprechzimmer.access_log")
MSG_ADMINS_ONLY = "Nur Administratoren dürfen das Zugriffsprotokoll lesen."
LIMIT = 500


def note(services: Services, org_id: UUID, kind: str, **details: str) -> None:
    """One line in a use case: `access_log.note(services, org_id, "login", user=…, device=…, ip=prefix)`.
    Never pass a password, code or token here; IP addresses only as their prefix."""
    try:
        organisation = services.events.get(org_id, Organisation)
    except Exception:  # as in note_for: the use case goes on
        log.exception("access log entry (%s) not recorded", kind)
        return
    if organisation is not None:
        note_for(services, organisation, kind, **details)


def note_for(services: Services, organisation: Organisation, kind: str, **details: str) -> None:
    """`note` for a use case that has the organisation loaded already (a login: no second replay)."""
    store = services.access_log
    if store is None:
        return
    try:
        at = services.clock()
        entry = json.dumps({"kind": kind, "at": at.astimezone(UTC).isoformat(timespec="seconds"), **details},
                           ensure_ascii=False).encode()
        store.add(organisation.org_id, at.timestamp(),
                  services.crypto.seal(bytes.fromhex(organisation.org_box_pk), entry))
    except Exception:  # the use case goes on; the entry is lost, which the log says (without its content)
        log.exception("access log entry (%s) not recorded", kind)


def entries(services: Services, org_id: UUID, user_key: str) -> list[dict[str, Any]]:
    store = services.access_log
    organisation = services.events.get(org_id)
    user = organisation.user(user_key) if organisation is not None else None
    if user is None or user.role != "admin":
        raise NotPermitted(MSG_ADMINS_ONLY)
    return store.entries(org_id, LIMIT) if store is not None else []
