"""The browser app's API types are generated from the OpenAPI document (`make api-types`); a change of the
API that the app's types do not reflect fails here, before it fails in a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from interfaces.http.openapi import build_spec
from tests.conftest import ROOT

WEB = ROOT / "web"


def test_generated_api_types_are_current(tmp_path: Path) -> None:
    if shutil.which("npx") is None or not (WEB / "node_modules" / ".bin" / "openapi-typescript").exists():
        pytest.fail("openapi-typescript fehlt: bitte `make web` ausführen (Node.js ≥ 20.19).")
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(build_spec()))
    out = tmp_path / "api-types.ts"
    subprocess.run(["npx", "openapi-typescript", str(spec), "-o", str(out)], cwd=WEB, check=True,
                   capture_output=True)
    current = (WEB / "src" / "app" / "api-types.ts").read_text()
    assert out.read_text() == current, "web/src/app/api-types.ts ist veraltet: bitte `make api-types` ausführen."
