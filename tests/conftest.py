"""Shared fixtures: where the shared design folder is, and fast access to the crypto test vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads((SHARED / "vectors" / "crypto-v1.json").read_text())
