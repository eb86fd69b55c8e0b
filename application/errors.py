"""Failures of use cases that the interfaces translate into HTTP statuses."""

from __future__ import annotations

from uuid import UUID

from domain.base import Conflict, DomainError, NotPermitted

__all__ = ["AuthFailed", "Conflict", "DomainError", "EventKeyDestroyed", "Invalid", "NotFound", "NotPermitted",
           "StaleKeyring", "Throttled"]

AUTH_FAILED_MESSAGE = ("Anmeldung fehlgeschlagen. Bitte Kurzname der Organisation, Kurzname des Benutzers und "
                       "Passwort prüfen.")


class AuthFailed(Exception):
    """The single authentication failure: never says which part was wrong (design/crypto.md §4.3)."""


class Throttled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"throttled for {retry_after} s")
        self.retry_after = max(1, int(retry_after))


class Invalid(DomainError):
    """Input that passed the schema but not the rules (HTTP 400)."""


class NotFound(DomainError):
    pass


class StaleKeyring(Conflict):
    """A record sealed under an older keyring than the organisation's current one (issue 10.11): the revoked
    device still holds that data key. HTTP 409 with the current version; the client fetches its new grant."""

    def __init__(self, current_version: int):
        super().__init__(f"Der Schlüsselbund wurde erneuert (Version {current_version}). Bitte mit dem neuen "
                         "Schlüssel erneut speichern.", "record.kver")
        self.current_version = current_version


class EventKeyDestroyed(Exception):
    """The organisation of this event has been erased: its payload is unreadable by design."""

    def __init__(self, org_id: UUID):
        super().__init__(f"key of organisation {org_id} destroyed")
        self.org_id = org_id
