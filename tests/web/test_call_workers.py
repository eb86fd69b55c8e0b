"""Issue 12's acceptance on PostgreSQL with two web workers: the practice's call screen on one `sprechzimmer
serve` process, the patient page on another (tests/web/workers.py), one database between them. The patient
waits, is admitted across the workers, and both browsers decode the other's video over a direct path — the
signalling of one call crosses processes through PostgreSQL, and each page works on its own origin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from interfaces.client import appointments
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from tests.conftest import PASSWORD, register
from tests.web.calls import (
    MEDIA_ARGS,
    PRACTICE_NAME,
    admitted_and_both_see_and_hear,
    open_call_screen,
    patient_enters,
)
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, WebPage, open_page
from tests.web.test_appointments import approved_browser
from tests.web.test_register_login import SLOW
from tests.web.workers import ProductServers, product_servers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def media_browser(playwright: Any) -> Iterator[Any]:
    """Chromium with a fake camera (a moving test pattern) and microphone (a beep), permissions granted."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def product(postgres_url: str, keystore_url: str, tmp_path: Path) -> Iterator[ProductServers]:
    with product_servers(postgres_url, keystore_url, tmp_path) as servers:
        yield servers


@pytest.fixture
def pages(media_browser: Any) -> Iterator[Any]:
    """Opens pages on a given origin; closes their contexts afterwards."""
    contexts: list[Any] = []

    def make(origin: str) -> WebPage:
        context, page = open_page(media_browser, origin)
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()


def test_browser_call_on_postgres_with_the_two_sides_on_different_workers(product: ProductServers, pages: Any,
                                                                          tmp_path: Path) -> None:
    cli = Client(product.a.url, LocalStore(tmp_path / "cli"))
    try:
        register(cli, organisation__name=PRACTICE_NAME)
        cli.login("PWinkler", "MartinW", PASSWORD)
        practice = approved_browser(lambda: pages(product.a.url), cli)
        planned = appointments.add(cli, datetime.now(UTC) - timedelta(minutes=5), 30, "Patientin Şahin")
    finally:
        cli.close()

    patient = pages(product.b.url)
    summary: list[str] = []
    patient_enters(patient, planned.patient.codes["patient"],
                   seen=lambda: summary.append(patient.page.locator("dl.summary").inner_text()))
    assert PRACTICE_NAME in summary[0]  # the other process reads the same organisation

    open_call_screen(practice, planned.appointment_id)
    practice.page.locator(".waiting-list li").wait_for(timeout=SLOW)
    placed = product.workers_of_members()
    assert len(placed) == 2 and len(set(placed.values())) == 2, placed  # one socket on each process

    admitted_and_both_see_and_hear(patient, practice)
    for side in (patient, practice):
        assert side.foreign_requests == []  # each page on its own origin only
        assert side.csp_violations() == []
    assert practice.page.locator(".waiting-list li").count() == 0
