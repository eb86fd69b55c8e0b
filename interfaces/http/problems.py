"""Errors as application/problem+json (RFC 9457) with a German `detail`; bad input is never a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import falcon
import falcon.asgi
from eventsourcing.persistence import OperationalError as EventStoreDown
from marshmallow import ValidationError

from application.errors import (
    AUTH_FAILED_MESSAGE,
    AuthFailed,
    Conflict,
    DomainError,
    NotFound,
    NotPermitted,
    StaleKeyring,
    Throttled,
)

log = logging.getLogger("sprechzimmer.http")
PROBLEM = "application/problem+json"
STALE_KEYRING = "/problems/stale-keyring"

GERMAN_TITLES = {
    400: "Ungültige Anfrage", 401: "Anmeldung fehlgeschlagen", 403: "Nicht erlaubt", 404: "Nicht gefunden",
    405: "Methode nicht erlaubt", 409: "Konflikt", 413: "Anfrage zu groß", 415: "Nicht unterstütztes Format",
    429: "Zu viele Versuche", 500: "Interner Fehler", 503: "Dienst vorübergehend nicht verfügbar",
}
GERMAN_DETAILS = {
    400: "Die Anfrage ist ungültig.", 404: "Diese Adresse gibt es nicht.",
    405: "Diese Methode ist für diese Adresse nicht erlaubt.", 413: "Die Anfrage ist zu groß.",
    415: "Bitte JSON senden (Content-Type: application/json).", 500: "Ein interner Fehler ist aufgetreten.",
    503: "Der Dienst ist vorübergehend nicht verfügbar. Bitte später erneut versuchen.",
}


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages → {"organisation.name": ["…"]}."""
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            out.update(flatten(value, f"{prefix}.{name}".strip(".") if name else prefix))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": list(messages)}
    if isinstance(messages, list):
        out = {}
        for i, value in enumerate(messages):
            out.update(flatten(value, f"{prefix}.{i}"))
        return out
    return {prefix or "_body": [str(messages)]}


def problem(resp: falcon.asgi.Response, status: int, detail: str, errors: dict[str, list[str]] | None = None,
            title: str | None = None, kind: str | None = None, extra: dict[str, Any] | None = None) -> None:
    resp.status = status
    resp.content_type = PROBLEM
    body: dict[str, Any] = {"type": kind or "about:blank", "title": title or GERMAN_TITLES.get(status, "Fehler"),
                            "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    resp.text = json.dumps(body, ensure_ascii=False)


async def on_validation_error(req: Any, resp: Any, ex: ValidationError, params: Any) -> None:
    problem(resp, 400, "Bitte die markierten Felder prüfen.", flatten(ex.messages))


async def on_domain_error(req: Any, resp: Any, ex: DomainError, params: Any) -> None:
    if isinstance(ex, StaleKeyring):  # the client needs the version to fetch its grant (issue 10.11)
        problem(resp, 409, ex.message, {ex.field or "record": [ex.message]}, kind=STALE_KEYRING,
                extra={"keyring_version": ex.current_version})
        return
    problem(resp, _domain_status(ex), ex.message, {ex.field: [ex.message]} if ex.field else None)


async def on_auth_failed(req: Any, resp: Any, ex: AuthFailed, params: Any) -> None:
    """One response for every authentication failure, byte for byte (design/crypto.md §4.3)."""
    problem(resp, 401, AUTH_FAILED_MESSAGE, title="AUTH_FAILED", kind="/problems/auth-failed")


async def on_throttled(req: Any, resp: Any, ex: Throttled, params: Any) -> None:
    resp.set_header("Retry-After", str(ex.retry_after))
    problem(resp, 429, f"Zu viele Versuche. Bitte in {ex.retry_after} Sekunden erneut versuchen.")


async def on_store_down(req: Any, resp: Any, ex: Exception, params: Any) -> None:
    log.error("database unavailable: %s", type(ex).__name__)
    problem(resp, 503, GERMAN_DETAILS[503])


async def on_http_error(req: Any, resp: Any, ex: falcon.HTTPError, params: Any) -> None:
    status = ex.status_code
    detail = GERMAN_DETAILS.get(status, GERMAN_TITLES.get(status, "Fehler"))
    if isinstance(ex, falcon.MediaMalformedError | falcon.MediaNotFoundError):
        detail = "Der Inhalt ist kein gültiges JSON."
    elif ex.description and status != 500:
        detail = ex.description
    resp.set_headers(ex.headers or {})
    problem(resp, status, detail)


async def on_unexpected(req: Any, resp: Any, ex: Exception, params: Any) -> None:
    log.exception("unexpected error in %s %s", req.method, req.path)
    problem(resp, 500, GERMAN_DETAILS[500])


Handler = Callable[[Any, Any, Any, Any], Awaitable[None]]


def _websocket_aware(handler: Handler, status: Callable[[Any], int]) -> Callable[..., Awaitable[None]]:
    """On a WebSocket there is no response to write: close it with 3000 + the HTTP status, as falcon does."""

    async def handle(req: Any, resp: Any, ex: Any, params: Any, ws: Any = None) -> None:
        if ws is not None:
            if ex.__class__ is not falcon.WebSocketDisconnected and not ws.closed:
                code = status(ex)
                await ws.close(1011 if code >= 500 else 3000 + code)
            return
        await handler(req, resp, ex, params)

    return handle


def _domain_status(ex: DomainError) -> int:
    return 409 if isinstance(ex, Conflict) else 403 if isinstance(ex, NotPermitted) else \
        404 if isinstance(ex, NotFound) else 400


def install(app: falcon.asgi.App) -> None:
    import psycopg

    # Falcon picks the most specific handler; the generic one is added first.
    handlers: list[tuple[type[Exception], Handler, Callable[[Any], int]]] = [
        (Exception, on_unexpected, lambda ex: 500),
        (falcon.HTTPError, on_http_error, lambda ex: ex.status_code),
        (ValidationError, on_validation_error, lambda ex: 400),
        (DomainError, on_domain_error, _domain_status),
        (AuthFailed, on_auth_failed, lambda ex: 401),
        (Throttled, on_throttled, lambda ex: 429),
        (EventStoreDown, on_store_down, lambda ex: 503),
        (psycopg.OperationalError, on_store_down, lambda ex: 503),
    ]
    for exception, handler, status in handlers:
        app.add_error_handler(exception, _websocket_aware(handler, status))
