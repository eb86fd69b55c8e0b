"""Rechtliches (issue 15, item 1): the legal texts without login, as pages and JSON; the accepted versions of
Nutzungsbedingungen and AVV; a new version asked for at the next login; the AVV confirmation as PDF (plus)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import httpx
import pypdf
import pytest

from infrastructure import legal_texts
from interfaces.client.sdk import ApiError, Client
from tests.conftest import PASSWORD, LiveServer, register

PAGES = {"nutzungsbedingungen": "Nutzungsbedingungen", "datenschutz": "Datenschutzerklärung",
         "avv": "Auftragsverarbeitungsvertrag", "impressum": "Impressum"}
PLUS_BILLING = {"account_holder": "Dr. med. Martin Winkler", "iban": "DE89 3704 0044 0532 0130 00",
                "bic": "COBADEFFXXX", "sepa_mandate": True}


@pytest.mark.parametrize("document", list(PAGES))
def test_legal_pages_are_readable_without_login(server: LiveServer, document: str) -> None:
    answer = httpx.get(f"{server.url}/rechtliches/{document}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    # Server-rendered, not the browser app (whose fallback would answer 503 "nicht gebaut" or index.html).
    assert f"<title>{PAGES[document]} – Sprechzimmer</title>" in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert "style-src 'self';" in answer.headers["content-security-policy"]
    assert "<script" not in answer.text and "style=" not in answer.text  # nothing the CSP would block
    assert server.settings.operator_name in answer.text
    version = legal_texts.source(document).version
    assert f"Fassung {version}" in answer.text

    data = httpx.get(f"{server.url}/api/v1/legal/{document}").json()
    assert data["document"] == document and data["version"] == version and data["title"] == PAGES[document]
    assert "{{" not in data["markdown"]  # every operator detail filled in


def test_privacy_policy_covers_the_patient_path_and_the_avv_names_every_sub_processor(server: LiveServer) -> None:
    privacy = httpx.get(f"{server.url}/rechtliches/datenschutz").text
    assert "Teilnahme als Patientin oder Patient" in privacy
    assert "Art. 9 Abs. 2 lit. a DSGVO" in privacy and "drei Monaten" in privacy
    avv = httpx.get(f"{server.url}/api/v1/legal/avv").json()["html"]
    assert "Technische und organisatorische Maßnahmen" in avv
    for kind in ("Server, Datenbank", "E-Mails (SMTP)", "SMS", "TURN"):
        assert kind in avv
    assert "<table>" in avv
    imprint = httpx.get(f"{server.url}/rechtliches/impressum").text
    assert server.settings.seller_vat_id in imprint and "Musterstraße 1" in imprint


def test_unknown_legal_document_is_a_german_404(server: LiveServer) -> None:
    answer = httpx.get(f"{server.url}/api/v1/legal/agb")
    assert answer.status_code == 404 and "nutzungsbedingungen" in answer.json()["detail"]
    assert httpx.get(f"{server.url}/rechtliches/agb").status_code == 404
    listing = httpx.get(f"{server.url}/api/v1/legal").json()["documents"]
    assert [d["document"] for d in listing] == list(PAGES)


def test_registration_records_the_versions_and_a_new_version_is_asked_for_at_login(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    client = new_client("a")
    register(client)
    assert client.login("PWinkler", "MartinW", PASSWORD).legal_pending == []
    assert client.whoami()["legal_pending"] == []

    current = dict(server.container.services.legal_versions)
    server.container.services.legal_versions = {**current, "avv": "2099-01-01"}
    session = client.login("PWinkler", "MartinW", PASSWORD)
    assert session.legal_pending == [{"document": "avv", "version": "2099-01-01"}]
    assert client.whoami()["legal_pending"] == [{"document": "avv", "version": "2099-01-01"}]

    with pytest.raises(ApiError) as stale:  # accepting a version nobody was shown
        client.request("POST", "/api/v1/legal/acceptances", {"documents": {"avv": current["avv"]}}, auth=True)
    assert stale.value.status == 400 and "nicht (mehr) aktuell" in stale.value.detail

    assert client.login("PWinkler", "MartinW", PASSWORD, accept_legal=True).legal_pending == []
    assert client.login("PWinkler", "MartinW", PASSWORD).legal_pending == []  # asked once, not again


def test_registration_refuses_an_outdated_version(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    with pytest.raises(ApiError) as err:
        register(new_client("a"), confirmations__versions={"avv": "2000-01-01"})
    assert err.value.status == 400 and "nicht (mehr) aktuell" in err.value.errors["confirmations.versions.avv"][0]


def test_avv_confirmation_pdf_for_plus_only(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    basis = new_client("basis")
    register(basis)
    basis.login("PWinkler", "MartinW", PASSWORD)
    with pytest.raises(ApiError) as refused:
        basis.request("GET", "/api/v1/legal/avv/confirmation", auth=True)
    assert refused.value.status == 403 and "AVV" in refused.value.detail

    plus = new_client("plus")
    register(plus, plan="plus", billing=PLUS_BILLING, credentials__org_short="PlusPraxis")
    session = plus.login("PlusPraxis", "MartinW", PASSWORD)
    answer = plus.http.get("/api/v1/legal/avv/confirmation", headers={"Authorization": f"Bearer {session.token}"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.content)).pages)
                    .split())
    assert "Schriftliche Bestätigung des Auftragsverarbeitungsvertrags" in text
    assert f"Fassung vom {legal_texts.source('avv').version}" in text
    assert server.settings.operator_name in text and "TURN" in text


def test_cli_login_names_a_new_version_and_accept_legal_accepts_it(
        server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from interfaces.cli.main import main
    from interfaces.client.keystore import LocalStore

    config = tmp_path / "cli"
    register(Client(server.url, LocalStore(config)))
    for name, value in {"SPRECHZIMMER_URL": server.url, "SPRECHZIMMER_PASSWORD": PASSWORD,
                        "SPRECHZIMMER_CONFIG_DIR": str(config)}.items():
        monkeypatch.setenv(name, value)
    login = ["login", "--org", "PWinkler", "--user", "MartinW"]
    assert main(login) == 0
    assert "Neue Fassung" not in capsys.readouterr().out

    current = dict(server.container.services.legal_versions)
    server.container.services.legal_versions = {**current, "nutzungsbedingungen": "2099-01-01"}
    assert main(login) == 0
    out = capsys.readouterr().out
    assert "Neue Fassung zur Zustimmung: nutzungsbedingungen (2099-01-01)" in out and "--accept-legal" in out
    assert main([*login, "--accept-legal"]) == 0
    assert "Zustimmung zu den aktuellen Fassungen" in capsys.readouterr().out
    assert main(login) == 0
    assert "Neue Fassung" not in capsys.readouterr().out  # accepted: not asked again
