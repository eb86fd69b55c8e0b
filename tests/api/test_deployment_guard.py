"""Crypto-shredding must hold for backups: in PostgreSQL mode the server, the worker and the operator's commands
refuse to start when a dump of the events database would hold the keys (keystore in the same database, KEK in
secrets.json next to the data) or when the operator's test identity would reach a bank. SPRECHZIMMER_INSECURE_DEV=1
allows the shortcuts, with a warning in the log and in /api/v1/status."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.settings import Settings, UnsafeDeployment, check_deployment, load_settings
from interfaces.bootstrap import build
from tests.conftest import ROOT, Clock, LiveServer, free_port, operator_status

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def _env(settings: Settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPRECHZIMMER_", "SEPA_", "SELLER_")) and k not in ("DATABASE_URL", "KEYSTORE_URL")}
    assert settings.database_url
    return env | {"DATABASE_URL": settings.database_url, "SPRECHZIMMER_DATA_DIR": str(tmp_path / "var")} | extra


@pytest.mark.parametrize("command", [["worker"], ["serve", "--workers", "2"], ["erasure", "run"]])
def test_processes_refuse_a_keystore_in_the_events_database(settings: Settings, tmp_path: Path,
                                                            command: list[str]) -> None:
    assert settings.database_url
    run = subprocess.run([sys.executable, "-m", "interfaces.cli.main", *command, *(
        ["--port", str(free_port())] if command[0] == "serve" else [])], cwd=ROOT,
        env=_env(settings, tmp_path, KEYSTORE_URL=settings.database_url), capture_output=True, text=True,
        timeout=60)
    assert run.returncode != 0
    assert "Start verweigert" in run.stderr and "KEYSTORE_URL muss eine andere Datenbank" in run.stderr
    assert "SPRECHZIMMER_KEK muss aus der Umgebung kommen" in run.stderr
    assert "Traceback" not in run.stderr


def test_every_shortcut_is_named_and_a_proper_configuration_starts(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url and settings.keystore_url
    lazy = load_settings(_env(settings, tmp_path))  # KEYSTORE_URL unset: it defaults to DATABASE_URL
    with pytest.raises(UnsafeDeployment) as refused:
        check_deployment(lazy)
    message = str(refused.value)
    for name in ("KEYSTORE_URL", "SPRECHZIMMER_KEK", "SPRECHZIMMER_AUDIT_KEY", "SPRECHZIMMER_RETENTION_KEY",
                 "SEPA_CREDITOR_ID",
                 "SEPA_CREDITOR_IBAN", "SELLER_VAT_ID"):
        assert name in message
    same_server_other_spelling = settings.database_url.replace("127.0.0.1", "localhost")
    with pytest.raises(UnsafeDeployment):
        check_deployment(dataclasses.replace(settings, keystore_url=same_server_other_spelling))

    proper = load_settings(_env(settings, tmp_path, KEYSTORE_URL=settings.keystore_url,
                                SPRECHZIMMER_KEK=os.urandom(32).hex(), SPRECHZIMMER_AUDIT_KEY=os.urandom(32).hex(),
                                SPRECHZIMMER_RETENTION_KEY=os.urandom(32).hex(),
                                SEPA_CREDITOR_ID="DE29ZZZ00001983485",
                                SEPA_CREDITOR_IBAN="DE02120300000000202051", SELLER_VAT_ID="DE123456789"))
    assert check_deployment(proper) == []
    build(proper).close()


def test_insecure_dev_allows_the_shortcuts_with_a_warning_in_log_and_status(
        settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    shortcut = dataclasses.replace(settings, keystore_url=settings.database_url, kek_from_environment=False,
                                   insecure_dev=True)
    with caplog.at_level(logging.WARNING, logger="sprechzimmer.bootstrap"), LiveServer(shortcut, clock) as live:
        status = operator_status(live)
    assert any("KEYSTORE_URL" in w for w in status["warnings"])
    assert any("SPRECHZIMMER_KEK" in w for w in status["warnings"])
    assert any("UNSICHER" in r.getMessage() and "KEYSTORE_URL" in r.getMessage() for r in caplog.records)
