"""The OpenAPI document, generated from the marshmallow schemas (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from interfaces.http import schemas

PROBLEM = {"content": {"application/problem+json": {"schema": "Problem"}}}


def _op(summary: str, request: str | None, ok: tuple[int, str | None], errors: tuple[int, ...],
        secured: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if request:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    status, body = ok
    op["responses"][str(status)] = {"description": "OK"} | (
        {"content": {"application/json": {"schema": body}}} if body else {})
    for code in errors:
        op["responses"][str(code)] = {"description": "Fehler"} | PROBLEM
    if secured:
        op["security"] = [{"bearer": []}]
    return op


def build_spec() -> dict[str, Any]:
    spec = APISpec(title="Sprechzimmer API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Videosprechstunde mit Ende-zu-Ende-Verschlüsselung."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in [
        ("Problem", schemas.ProblemSchema), ("Registration", schemas.RegistrationSchema),
        ("RegistrationResult", schemas.RegistrationResultSchema), ("AuthStart", schemas.AuthStartSchema),
        ("Challenge", schemas.ChallengeSchema), ("AuthFinish", schemas.AuthFinishSchema),
        ("LoginResult", schemas.LoginResultSchema), ("SessionInfo", schemas.SessionInfoSchema),
        ("Status", schemas.StatusSchema),
    ]:
        spec.components.schema(name, schema=schema)
    spec.path("/api/v1/registrations", operations={"post": _op(
        "Organisation registrieren", "Registration", (201, "RegistrationResult"), (400, 409, 413, 415, 503))})
    spec.path("/api/v1/auth/start", operations={"post": _op(
        "Anmeldung beginnen (Challenge)", "AuthStart", (200, "Challenge"), (400, 429))})
    spec.path("/api/v1/auth/finish", operations={"post": _op(
        "Anmeldung abschließen", "AuthFinish", (200, "LoginResult"), (400, 401, 429))})
    spec.path("/api/v1/auth/logout", operations={"post": _op("Abmelden", None, (204, None), (401,), True)})
    spec.path("/api/v1/session", operations={"get": _op(
        "Aktuelle Sitzung", None, (200, "SessionInfo"), (401,), True)})
    spec.path("/api/v1/status", operations={"get": _op("Status", None, (200, "Status"), (503,))})
    spec.path("/healthz", operations={"get": _op("Lebenszeichen", None, (200, None), ())})
    return spec.to_dict()
