"""What an operator reads: `erasure run` names organisations as `events` does, and every environment
variable the code reads is in the README's configuration table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from interfaces.client.sdk import Client
from tests.conftest import ROOT, Clock, LiveServer
from tests.contract.test_erasure import cancelled_practice, server_env


def test_erasure_run_names_the_organisation_as_the_replay_does(
        server: LiveServer, clock: Clock, new_client: Callable[[str], Client], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, org_id = cancelled_practice(new_client, clock, server)
    settings = server.container.settings
    for key, value in server_env(settings).items():
        monkeypatch.setenv(key, value)
    if not settings.database_url:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    from interfaces.cli.main import main

    assert main(["events"]) == 0
    replayed = {json.loads(line)["organisation"] for line in capsys.readouterr().out.splitlines()}
    # The CLI uses the real clock: today is long after the end date 2021-03-31.
    assert main(["erasure", "run", "--dry-run"]) == 0
    planned = capsys.readouterr().out
    assert f"Organisation {org_id} " in planned and str(org_id) in replayed, planned
    assert main(["erasure", "run"]) == 0
    assert f"Organisation {org_id} " in capsys.readouterr().out


def _variables_read() -> set[str]:
    """Names passed to os.environ / getenv / a settings dict's get, and SPRECHZIMMER_* names the CLI passes to
    its prompt helpers (`secret("…", "SPRECHZIMMER_NEW_PASSWORD")`)."""
    found: set[str] = set()
    for path in [*(ROOT / "interfaces").rglob("*.py"), *(ROOT / "application").rglob("*.py"),
                 ROOT / "infrastructure" / "settings.py"]:
        text = path.read_text()
        found |= set(re.findall(r"(?:environ\.get|environ\[|getenv|env\.get|setdefault)\(\s*\"([A-Z][A-Z0-9_]+)\"",
                                text))
        found |= set(re.findall(r"\"(SPRECHZIMMER_[A-Z0-9_]+)\"", text))
    return found


def test_every_environment_variable_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    read = _variables_read()
    assert {"SPRECHZIMMER_URL", "SPRECHZIMMER_PAIRING_CODE", "DATABASE_URL", "TURN_SECRET"} <= read  # the scan works
    assert read - documented == set()
