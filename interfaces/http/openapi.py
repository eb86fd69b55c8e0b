"""The OpenAPI document, generated from the marshmallow schemas (served at /api/openapi.json).
Each HTTP context module contributes its own paths through `add_openapi(spec)`."""

from __future__ import annotations

import importlib
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from interfaces.http import schemas

PROBLEM = {"content": {"application/problem+json": {"schema": "Problem"}}}


def operation(summary: str, request: str | None, ok: tuple[int, str | None], errors: tuple[int, ...],
              secured: bool = False, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if request:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    if parameters:
        op["parameters"] = parameters
    status, body = ok
    op["responses"][str(status)] = {"description": "OK"} | (
        {"content": {"application/json": {"schema": body}}} if body else {})
    for code in errors:
        op["responses"][str(code)] = {"description": "Fehler"} | PROBLEM
    if secured:
        op["security"] = [{"bearer": []}]
    return op


def build_spec() -> dict[str, Any]:
    from interfaces.http.app import CONTEXTS

    spec = APISpec(title="Sprechzimmer API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Videosprechstunde mit Ende-zu-Ende-Verschlüsselung."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=schemas.ProblemSchema)
    spec.components.schema("Empty", schema=schemas.EmptySchema)
    for name in CONTEXTS:
        importlib.import_module(f"interfaces.http.{name}").add_openapi(spec)
    return spec.to_dict()
