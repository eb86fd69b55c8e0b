"""Browser fixtures: Debian's Chromium driven by Python playwright against the real server of
tests/conftest.py (one per test, on SQLite and PostgreSQL). Never `playwright install`: it downloads
browsers from outside; /usr/bin/chromium is installed by `make test-deps`.

Every page a test opens records the requests it makes to any other origin and every CSP violation, so a
test can assert that the app stays on its own origin and within its Content-Security-Policy."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT, LiveServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DIST = ROOT / "web" / "dist"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"

# Runs in every page before its own scripts (injected by the browser, so the CSP does not apply to it).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile});
});
"""


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """The built app, (re)built here through make's stamp when its sources changed, so no test runs an old build."""
    if shutil.which("npm") is not None:
        subprocess.run(["make", "--no-print-directory", "-s", "-C", str(ROOT), "web"], check=True,
                       stdout=subprocess.DEVNULL)
    elif not (DIST / "index.html").is_file():
        pytest.fail("web/dist fehlt und npm ist nicht installiert: bitte Node.js ≥ 20.19 installieren "
                    "und `make web` ausführen.")
    return DIST


@pytest.fixture(scope="session")
def playwright(web_dist: Path) -> Iterator[Any]:
    """One Playwright driver for the whole run: a second sync_playwright() in the same thread refuses to start,
    so every browser (the plain one below, the one with fake media for calls) is launched from this one."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium fehlt ({CHROMIUM}): bitte `make test-deps` ausführen.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@dataclass
class WebPage:
    """A page of one browser context, with what it requested outside the server's origin."""

    page: Any
    origin: str
    foreign_requests: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.origin + path)

    def csp_violations(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.__cspViolations || []"))

    def accessibility_problems(self) -> list[str]:
        """axe-core's serious and critical violations of the current page. axe is loaded from node_modules
        through the DevTools protocol (no network; the page's CSP, which forbids inline scripts, stays on)."""
        if not self.page.evaluate("typeof window.axe === 'object'"):
            self.page.evaluate(AXE.read_text())
        violations = self.page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                                        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
                                        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))")
        return [f"{v['id']} ({v['impact']}): {v['help']} – {v['nodes']}" for v in violations
                if v["impact"] in ("serious", "critical")]


def open_page(browser: Any, origin: str) -> tuple[Any, WebPage]:
    """A page in a fresh browser context on `origin` (its own IndexedDB: a different browser as far as the app
    knows), recording requests to any other origin; the caller closes the context."""
    context = browser.new_context(base_url=origin, locale="de-DE", timezone_id="Europe/Berlin",
                                  viewport={"width": 1280, "height": 720})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    web_page = WebPage(page, origin)

    def record(request: Any) -> None:
        scheme, netloc = urlsplit(request.url)[:2]
        if scheme in ("http", "https", "ws", "wss") and f"{scheme}://{netloc}" != origin:
            web_page.foreign_requests.append(request.url)

    context.on("request", record)
    return context, web_page


@pytest.fixture
def new_page(browser: Any, server: LiveServer) -> Iterator[Callable[[], WebPage]]:
    """A page in a fresh browser context on the test's server."""
    contexts: list[Any] = []

    def make() -> WebPage:
        context, web_page = open_page(browser, server.url)
        contexts.append(context)
        return web_page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def web(new_page: Callable[[], WebPage]) -> WebPage:
    return new_page()
