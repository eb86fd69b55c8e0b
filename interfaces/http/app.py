"""The falcon.asgi application: REST under /api, health, OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import falcon
import falcon.asgi

from interfaces.bootstrap import Container, build
from interfaces.http import problems, resources
from interfaces.http.openapi import build_spec


class Lifespan:
    """Builds the container once per worker process, after gunicorn's fork."""

    def __init__(self, runtime: resources.Runtime):
        self.runtime = runtime

    async def process_startup(self, scope: Any, event: Any) -> None:
        self.runtime.start()

    async def process_shutdown(self, scope: Any, event: Any) -> None:
        self.runtime.stop()


class SecurityHeaders:
    async def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("Referrer-Policy", "no-referrer")


class OpenApi:
    def __init__(self) -> None:
        self.document = build_spec()

    async def on_get(self, req: Any, resp: Any) -> None:
        resp.media = self.document


def create_app(factory: Callable[[], Container] = build,
               runtime: resources.Runtime | None = None) -> falcon.asgi.App:
    """`runtime` may be passed in by tests and tools that need to reach the container."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runtime = runtime or resources.Runtime(factory)
    middleware: list[Any] = [Lifespan(runtime), SecurityHeaders()]
    app = falcon.asgi.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    problems.install(app)
    app.add_route("/healthz", resources.Health())
    app.add_route("/api/openapi.json", OpenApi())
    app.add_route("/api/v1/status", resources.Status(runtime))
    app.add_route("/api/v1/registrations", resources.Registrations(runtime))
    app.add_route("/api/v1/auth/start", resources.AuthStart(runtime))
    app.add_route("/api/v1/auth/finish", resources.AuthFinish(runtime))
    app.add_route("/api/v1/auth/logout", resources.Logout(runtime))
    app.add_route("/api/v1/session", resources.CurrentSession(runtime))
    return app
