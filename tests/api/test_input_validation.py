"""Bad input gets a 4xx problem+json naming the field, in German — never a 500, never a half-written change."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from tests.conftest import TEST_ORIGIN, LiveServer, operator_status, seed_form, split_form


@pytest.fixture(scope="module")
def prepared_body(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The exact body the SDK would send for the seed organisation (captured, not sent; made once)."""
    captured: dict[str, Any] = {}

    def capture(request: httpx.Request) -> httpx.Response:
        captured.update(json.loads(request.content))
        return httpx.Response(201, json={})

    client = Client(TEST_ORIGIN, LocalStore(tmp_path_factory.mktemp("capture")),
                    transport=httpx.MockTransport(capture))
    form, secrets = split_form(seed_form())
    client.register(form, *secrets)
    return captured


@pytest.fixture
def valid_body(prepared_body: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(prepared_body)


def post(server: LiveServer, body: Any, raw: bytes | None = None,
         content_type: str = "application/json") -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(server.url + "/api/v1/registrations", content=content, headers={"Content-Type": content_type})


def with_change(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    target = changed
    for part in parents:
        target = target[part]
    if value is KeyError:
        del target[leaf]
    else:
        target[leaf] = value
    return changed


BAD_FIELDS = [
    ("organisation.name", ""),
    ("organisation.name", "x" * 201),
    ("organisation.kind", "Bäckerei"),
    ("organisation.size", "7"),
    ("organisation.bsnr", "12345678"),
    ("organisation.lanr", "abcdefghi"),
    ("organisation.vat_id", "ATU13585628"),  # a check digit off
    ("organisation.vat_id", "13585627"),  # no country prefix
    ("address.street", KeyError),
    ("address.postcode", "1234"),
    ("address.postcode", "D-12345"),
    ("address.city", 12345),
    ("main_user.salutation", "Dr."),
    ("main_user.first_name", None),
    ("main_user.email", "winkler-at-mail.de"),
    ("main_user.phone", "12"),
    ("credentials.org_short", "P Winkler"),
    ("credentials.user_short", "x"),
    ("credentials.device_name", ""),
    ("confirmations.avv_accepted", False),
    ("confirmations.credentials_noted", "ja"),
    ("crypto.org_sign_pk", "zz"),
    ("crypto.user.ops", "2"),
    ("plan", "gold"),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_each_bad_field_is_named(server: LiveServer, valid_body: dict[str, Any], field: str, value: Any) -> None:
    answer = post(server, with_change(valid_body, field, value))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert field in problem["errors"], problem
    assert all(message and message[0].isupper() for message in problem["errors"][field])  # a sentence, German


def test_the_valid_body_registers_and_nothing_half_written_before(server: LiveServer,
                                                                   valid_body: dict[str, Any]) -> None:
    for field, value in BAD_FIELDS[:3]:
        post(server, with_change(valid_body, field, value))
    assert operator_status(server)["organisations"] == {}
    assert post(server, valid_body).status_code == 201


def test_plus_requires_valid_bank_data(server: LiveServer, valid_body: dict[str, Any]) -> None:
    plus = with_change(valid_body, "plan", "plus")
    assert "billing" in post(server, plus).json()["errors"]
    bank = {"account_holder": "Dr. Martin Winkler", "iban": "DE89 3704 0044 0532 0130 01", "bic": "COBADEFFXXX",
            "sepa_mandate": True}
    assert "billing.iban" in post(server, with_change(plus, "billing", bank)).json()["errors"]
    bank |= {"iban": "DE89 3704 0044 0532 0130 00", "bic": "DEUTDEFFXXX"}
    assert "billing.bic" in post(server, with_change(plus, "billing", bank)).json()["errors"]
    bank |= {"bic": "COBADEFFXXX", "sepa_mandate": False}
    assert "billing.sepa_mandate" in post(server, with_change(plus, "billing", bank)).json()["errors"]
    basis_with_bank = with_change(valid_body, "billing", bank | {"sepa_mandate": True})
    assert "billing" in post(server, basis_with_bank).json()["errors"]


def test_forged_proofs_are_refused(server: LiveServer, valid_body: dict[str, Any]) -> None:
    signatures = valid_body["crypto"]["signatures"]
    forged = with_change(valid_body, "crypto.signatures.password", signatures["device"])
    answer = post(server, forged)
    assert answer.status_code == 400 and "crypto" in answer.json()["errors"]
    other_origin = with_change(valid_body, "crypto.origin", "https://evil.example")
    assert post(server, other_origin).status_code == 400


@pytest.mark.parametrize(("raw", "content_type", "status"), [
    (b"{not json", "application/json", 400),
    (b"[1, 2, 3]", "application/json", 400),
    (b'"text"', "application/json", 400),
    (b"plan=basis", "application/x-www-form-urlencoded", 415),
    (b'{"plan": "' + b"x" * 70000 + b'"}', "application/json", 413),
])
def test_malformed_bodies(server: LiveServer, raw: bytes, content_type: str, status: int) -> None:
    answer = post(server, None, raw=raw, content_type=content_type)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == status


@pytest.mark.parametrize("path", ["/api/v1/auth/start", "/api/v1/auth/finish"])
def test_auth_endpoints_reject_wrong_types_and_long_strings(server: LiveServer, path: str) -> None:
    for body in ({"org": 1, "user": [], "device_id": None}, {"org": "x" * 5000}, {"challenge_id": {"a": 1}}):
        answer = httpx.post(server.url + path, json=body)
        assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"]


def test_unknown_routes_and_methods(server: LiveServer) -> None:
    assert httpx.get(server.url + "/api/v1/nichts").status_code == 404
    answer = httpx.delete(server.url + "/api/v1/registrations")
    assert answer.status_code == 405 and answer.json()["detail"].startswith("Diese Methode")


@pytest.mark.parametrize("value", ["PWinkler\x00", "\ud800abc"])
def test_text_no_store_can_keep_is_refused(server: LiveServer, valid_body: dict[str, Any], value: str) -> None:
    """NUL bytes (PostgreSQL text) and lone surrogates (not UTF-8) are refused up front, on every endpoint."""
    answer = post(server, None, raw=json.dumps(with_change(valid_body, "credentials.org_short", value)).encode())
    assert answer.status_code == 400 and "credentials.org_short" in answer.json()["errors"]
    start = httpx.post(server.url + "/api/v1/auth/start", content=json.dumps(
        {"org": value, "user": "MartinW", "device_id": "d", "origin": server.url}).encode(),
        headers={"Content-Type": "application/json"})
    assert start.status_code == 400 and "org" in start.json()["errors"]
