"""The CLI commands of devices and users against a live server (secrets from the environment)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from interfaces.cli.main import main
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from tests.conftest import MASTER_PASSWORD, PASSWORD, LiveServer, register
from tests.devices.helpers import ADMIN, ORG, STAFF_PASSWORD

LOGIN = ["--org", ORG, "--user", ADMIN]


def test_devices_and_users_commands(server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    admin_dir, new_dir = tmp_path / "cli-admin", tmp_path / "cli-new"
    admin = Client(server.url, LocalStore(admin_dir))
    register(admin)
    admin.close()
    monkeypatch.setenv("SPRECHZIMMER_URL", server.url)
    monkeypatch.setenv("SPRECHZIMMER_PASSWORD", PASSWORD)

    def run(config: Path, *argv: str) -> str:
        monkeypatch.setenv("SPRECHZIMMER_CONFIG_DIR", str(config))
        assert main(list(argv)) == 0
        return capsys.readouterr().out

    out = run(new_dir, "devices", "enroll", *LOGIN, "--name", "Sprechzimmer 1")
    code = re.search(r"([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})", out).group(1)  # type: ignore[union-attr]
    device_id = re.search(r"Geräte-ID: (dev-[0-9a-f]+)", out).group(1)  # type: ignore[union-attr]
    assert "wartet auf Freigabe" in run(admin_dir, "devices", "list", *LOGIN)
    monkeypatch.setenv("SPRECHZIMMER_PAIRING_CODE", code)
    assert "freigegeben" in run(admin_dir, "devices", "approve", "--org", ORG, "--user", ADMIN, device_id)
    assert "Angemeldet als MartinW" in run(new_dir, "login", *LOGIN)
    assert "heißt jetzt" in run(admin_dir, "devices", "rename", *LOGIN, device_id, "Raum 2")
    assert "gesperrt" in run(admin_dir, "devices", "lock", *LOGIN, device_id)
    assert "entsperrt" in run(admin_dir, "devices", "unlock", *LOGIN, device_id)

    monkeypatch.setenv("SPRECHZIMMER_NEW_PASSWORD", STAFF_PASSWORD)
    assert "angelegt" in run(admin_dir, "users", "add", *LOGIN, "AnnaS", "--role", "staff")
    assert "Einladungscode für BenS" in run(admin_dir, "users", "invite", *LOGIN, "BenS")
    assert "AnnaS" in run(admin_dir, "users", "list", *LOGIN)
    assert "Rolle admin" in run(admin_dir, "users", "role", *LOGIN, "AnnaS", "--role", "admin")
    assert "deaktiviert" in run(admin_dir, "users", "deactivate", *LOGIN, "AnnaS")
    assert "reaktiviert" in run(admin_dir, "users", "reactivate", *LOGIN, "AnnaS")
    assert "Version 2" in run(admin_dir, "devices", "revoke", *LOGIN, device_id)

    monkeypatch.setenv("SPRECHZIMMER_NEW_PASSWORD", "Winkler#Neu2025!")
    assert "Passwort geändert" in run(admin_dir, "password", "change", *LOGIN)
    monkeypatch.setenv("SPRECHZIMMER_PASSWORD", "Winkler#Neu2025!")
    monkeypatch.setenv("SPRECHZIMMER_CONFIG_DIR", str(admin_dir))
    assert main(["devices", "revoke", *LOGIN, device_id]) == 1  # already revoked: a clean German error
    assert "bereits entfernt" in capsys.readouterr().err

    monkeypatch.setenv("SPRECHZIMMER_MASTER_PASSWORD", MASTER_PASSWORD)
    monkeypatch.setenv("SPRECHZIMMER_NEW_MASTER_PASSWORD", "Praxis am Markt: neuer Schlüssel 2025!")
    assert "Masterpasswort geändert" in run(admin_dir, "masterpassword", "change", *LOGIN)
    monkeypatch.setenv("SPRECHZIMMER_MASTER_PASSWORD", "Praxis am Markt: neuer Schlüssel 2025!")
    monkeypatch.setenv("SPRECHZIMMER_NEW_PASSWORD", "Winkler#Notfall25")
    out = run(tmp_path / "cli-rescue", "recover", "--org", ORG, "--user", ADMIN, "--name", "Notfall")
    assert "Neues Passwort für MartinW gesetzt" in out
    monkeypatch.setenv("SPRECHZIMMER_PASSWORD", "Winkler#Notfall25")
    assert "Angemeldet als MartinW" in run(tmp_path / "cli-rescue", "login", *LOGIN)
