"""The falcon.asgi application: REST under /api, health, OpenAPI."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

import falcon
import falcon.asgi

from interfaces.bootstrap import Container, build
from interfaces.http import problems, web
from interfaces.http.common import Runtime

# Each context module offers add_routes(app, runtime) and add_openapi(spec).
CONTEXTS = ("operations", "accounts", "devices", "users", "recovery", "appointments", "calls",
            "contracts", "audit", "access_log", "legal")


class Lifespan:
    """Builds the container once per worker process, after gunicorn's fork."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    async def process_startup(self, scope: Any, event: Any) -> None:
        self.runtime.start()

    async def process_shutdown(self, scope: Any, event: Any) -> None:
        self.runtime.stop()


class SecurityHeaders:
    async def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        # The web app's hashed assets set their own (immutable) caching; everything else is never stored.
        resp.set_header("Cache-Control", resp.get_header("Cache-Control") or "no-store")
        resp.set_header("Referrer-Policy", "no-referrer")


def create_app(factory: Callable[[], Container] = build,
               runtime: Runtime | None = None) -> falcon.asgi.App:
    """`runtime` may be passed in by tests and tools that need to reach the container."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runtime = runtime or Runtime(factory)
    middleware: list[Any] = [Lifespan(runtime), SecurityHeaders()]
    app = falcon.asgi.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    problems.install(app)
    for name in CONTEXTS:
        importlib.import_module(f"interfaces.http.{name}").add_routes(app, runtime)
    web.add_routes(app)  # last: its catch-all sink serves the browser app (design/web.md)
    return app
