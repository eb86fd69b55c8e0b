"""Serves the browser app (web/dist, built by `make run`) from the falcon app itself (design/web.md): the
signed transcripts contain the web origin and there are no CORS headers, so the app must share the API's
origin.

- `/` and every other non-API path: the practice app's index.html (SPA fallback), `no-store`;
- `/join`: the patient page, its own entry point (every invitation, SMS and .ics links there);
- `/assets/*`: content-hashed files, cached for a year (`immutable`), pre-compressed `.br`/`.gz` picked by
  Accept-Encoding (falcon does not compress);
- `/api/…` and `/ws/…` never fall back: an unknown path there is a problem+json 404;
- every page carries the CSP of design/web.md, which allows nothing from another origin.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import falcon
import falcon.asgi

ROOT = Path(__file__).resolve().parents[2]
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; img-src 'self' blob: data:; "
       "media-src 'self' blob:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".json": "application/json", ".wasm": "application/wasm",
    ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8", ".map": "application/json",
}
# Pre-compressed variants in order of preference: (Accept-Encoding token, file suffix).
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
NOT_BUILT = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Sprechzimmer – Anwendung nicht gebaut</title></head>
<body><main><h1>Die Browser-Anwendung ist noch nicht gebaut.</h1>
<p>Bitte <code>make run</code> ausführen: Es baut die Anwendung (Node.js ab Version 20.19 nötig) und startet
den Server. Nur bauen: <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>
<p lang="en">The web app has not been built yet. Run <code>make run</code> (needs Node.js 20.19 or newer).</p>
<p>Die API unter <code>/api</code> ist davon nicht betroffen.</p></main></body></html>
"""


def dist_dir() -> Path:
    """SPRECHZIMMER_WEB_DIST points elsewhere (e.g. a packaged build); by default the repo's web/dist."""
    return Path(os.environ.get("SPRECHZIMMER_WEB_DIST") or ROOT / "web" / "dist")


@functools.lru_cache(maxsize=256)
def _read(path: str, mtime_ns: int, size: int) -> bytes:
    """Built files change only by a rebuild, which changes mtime and size: cache their bytes."""
    return Path(path).read_bytes()


def read(path: Path) -> bytes:
    stat = path.stat()
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


def accepted(header: str | None) -> set[str]:
    """The content codings of Accept-Encoding with q > 0 (`br;q=0` refuses br)."""
    out = set()
    for part in (header or "").split(","):
        token, _, params = part.strip().partition(";")
        q = params.strip()
        if q.startswith("q="):
            try:
                if float(q[2:]) <= 0:
                    continue
            except ValueError:
                continue
        if token:
            out.add(token.strip().lower())
    return out


def send_file(req: falcon.asgi.Request, resp: falcon.asgi.Response, path: Path, cache_control: str) -> None:
    resp.content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    resp.set_header("Cache-Control", cache_control)
    resp.set_header("Content-Security-Policy", CSP)
    resp.set_header("Vary", "Accept-Encoding")
    codings = accepted(req.get_header("Accept-Encoding"))
    for token, suffix in ENCODINGS:
        variant = path.with_name(path.name + suffix)
        if token in codings and variant.is_file():
            resp.set_header("Content-Encoding", token)
            path = variant
            break
    data = read(path)
    if req.method == "HEAD":
        resp.set_header("Content-Length", str(len(data)))
    else:
        resp.data = data


def not_built(resp: falcon.asgi.Response) -> None:
    resp.status = 503
    resp.content_type = "text/html; charset=utf-8"
    resp.set_header("Content-Security-Policy", CSP)
    resp.set_header("Retry-After", "30")
    resp.text = NOT_BUILT


def page(req: falcon.asgi.Request, resp: falcon.asgi.Response, relative: str) -> None:
    if req.method not in ("GET", "HEAD"):
        raise falcon.HTTPMethodNotAllowed(["GET", "HEAD"])
    path = dist_dir() / relative
    if not path.is_file():
        not_built(resp)
        return
    send_file(req, resp, path, "no-store")


class Assets:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response, name: str) -> None:
        assets = dist_dir() / "assets"
        path = assets / name
        # One path segment only (falcon's field never holds "/"); refuse dot names and compressed variants.
        if name.startswith(".") or path.suffix in (".br", ".gz") or not path.is_file():
            raise falcon.HTTPNotFound()
        send_file(req, resp, path, IMMUTABLE)

    on_head = on_get


class JoinPage:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        page(req, resp, "join/index.html")

    on_head = on_get


async def spa(req: falcon.asgi.Request, resp: falcon.asgi.Response | None, ws: Any = None, **_: Any) -> None:
    """Every path no route matched: API and WebSocket paths get a 404, everything else the app."""
    first = req.path.split("/", 2)[1]
    if ws is not None or resp is None or first in ("api", "ws", "assets"):
        raise falcon.HTTPNotFound()
    page(req, resp, "index.html")


def add_routes(app: falcon.asgi.App) -> None:
    app.add_route("/assets/{name}", Assets())
    app.add_route("/join", JoinPage())
    # Routes take precedence over sinks in falcon, so the API's own routes are untouched by this catch-all.
    app.add_sink(spa, prefix="/")

