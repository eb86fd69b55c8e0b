"""What every HTTP resource shares: the runtime holding the container, body loading, authentication."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

import falcon
import falcon.asgi
from marshmallow import Schema, ValidationError

from application import access
from application.access import Session
from application.errors import AuthFailed
from interfaces.bootstrap import Container

MAX_BODY = 64 * 1024
MAX_DEPTH = 32  # far more than any schema nests; deeper JSON would only exhaust the parser's recursion
MSG_TOO_LARGE = "Die Anfrage ist zu groß (höchstens 64 KiB)."
MSG_NOT_JSON = "Der Inhalt ist kein gültiges JSON."
MSG_TOO_DEEP = f"Die Daten sind zu tief verschachtelt (höchstens {MAX_DEPTH} Ebenen)."
T = TypeVar("T")


class Runtime:
    """Holds the container, which is built in each worker after the fork (lifespan startup)."""

    def __init__(self, factory: Callable[[], Container], background: bool = True):
        self.factory = factory
        self.background = background  # scheduler in-process (embedded mode); tests drive jobs themselves
        self._container: Container | None = None

    def start(self) -> None:
        if self._container is None:
            self._container = self.factory()
            if self.background and self._container.settings.embedded:
                self._container.scheduler.start()

    def stop(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def container(self) -> Container:
        if self._container is None:
            raise falcon.HTTPServiceUnavailable()
        return self._container

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The event-sourcing library is synchronous: run it in a thread, never on the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)


async def load(req: falcon.asgi.Request, schema: Schema) -> dict[str, Any]:
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise _too_large()
    if not (req.content_type or "").startswith("application/json"):
        raise falcon.HTTPUnsupportedMediaType(description="Bitte JSON senden (Content-Type: application/json).")
    body = parse_json(await read_body(req))
    if not isinstance(body, dict):
        raise ValidationError({"_body": ["Ein JSON-Objekt wird erwartet."]})
    if unusable := sorted(_unusable_text(body)):
        raise ValidationError({path: [MSG_CONTROL] for path in unusable})
    data: dict[str, Any] = schema.load(body)
    return data


def _too_large() -> falcon.HTTPError:
    # Closing the connection is what stops the rest of an oversized (e.g. chunked) body from being read at all.
    return falcon.HTTPContentTooLarge(description=MSG_TOO_LARGE, headers={"Connection": "close"})


async def read_body(req: falcon.asgi.Request) -> bytes:
    """The body, read only up to MAX_BODY however it arrives: Content-Length can be absent (chunked)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in req.stream:
        size += len(chunk)
        if size > MAX_BODY:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest, counted without parsing (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json(raw: bytes | str) -> Any:
    """JSON with a German 400 for anything unparsable or nested deeper than MAX_DEPTH."""
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise falcon.HTTPBadRequest(description=MSG_NOT_JSON) from None
    if json_depth(text) > MAX_DEPTH:
        raise falcon.HTTPBadRequest(description=MSG_TOO_DEEP)
    try:
        return json.loads(text)
    except ValueError:
        raise falcon.HTTPBadRequest(description=MSG_NOT_JSON) from None


MSG_CONTROL = "Steuerzeichen (z. B. Nullbytes) und ungültige Unicode-Zeichen sind nicht erlaubt."


def _unusable_text(value: Any, path: str = "") -> list[str]:
    """Paths of strings no store can keep: NUL bytes (PostgreSQL text) and lone surrogates (not UTF-8)."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return [path or "_body"]
        return [path or "_body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _unusable_text(item, f"{path}.{key}".strip("."))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _unusable_text(item, f"{path}.{i}".strip("."))]
    return []


def client_ip(req: falcon.asgi.Request) -> str:
    return req.remote_addr or "unknown"


def bearer(req: falcon.asgi.Request) -> str:
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > 128:
        raise AuthFailed()
    return token.strip()


class Resource:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    @property
    def services(self) -> Any:
        return self.runtime.container.services

    async def session(self, req: falcon.asgi.Request) -> Session:
        return await self.runtime.call(access.authenticate, self.services, bearer(req))


