"""A schemathesis run over the OpenAPI document against the real server finds no 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import LiveServer


def test_no_server_errors(server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    statuses: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: Any) -> None:
            response = case.call(headers={"Authorization": "Bearer " + "ab" * 32})
            statuses.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        call()
    assert len(statuses) >= 5 * len(operations) and max(statuses) < 500


def test_openapi_document_is_served(server: LiveServer) -> None:
    document = httpx.get(server.url + "/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/registrations", "/api/v1/auth/start", "/api/v1/auth/finish"} <= set(document["paths"])
