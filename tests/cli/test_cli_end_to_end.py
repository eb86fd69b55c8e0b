"""The seed's example organisation registers and logs in through the CLI against `sprechzimmer serve`
(gunicorn + uvicorn workers), and an auditor replays the history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES, PASSWORD, free_port

BIN = Path(sys.executable).parent / "sprechzimmer"


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPRECHZIMMER_", "DATABASE_URL"))}
    env |= {"SPRECHZIMMER_URL": f"http://127.0.0.1:{port}", "SPRECHZIMMER_CONFIG_DIR": str(tmp_path / "client"),
            "SMTP_PORT": str(free_port())}
    args = [str(BIN), "serve", "--port", str(port)]
    if request.param == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        env["SPRECHZIMMER_INSECURE_DEV"] = "1"  # the README's quick start; keys apart: tests/contract
        args += ["--workers", "2"]
    workdir = tmp_path / "praxis"
    workdir.mkdir()
    log = (tmp_path / "server.log").open("w+")
    process = subprocess.Popen(args, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        yield env, workdir
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        log.close()
    server_log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in server_log, server_log
    assert PASSWORD not in server_log and "Authorization" not in server_log

def cli(env: dict[str, str], workdir: Path, *args: str,
        extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], cwd=workdir, env=env | (extra or {}), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_register_login_logout_and_replay(served: tuple[dict[str, str], Path]) -> None:
    env, workdir = served
    registered = cli(env, workdir, "register", "--from-json", str(FIXTURES / "praxis_winkler.json"))
    assert registered.returncode == 0, registered.stderr
    assert "Registrierung abgeschlossen" in registered.stdout and "PWinkler" in registered.stdout

    again = cli(env, workdir, "register", "--from-json", str(FIXTURES / "praxis_winkler.json"))
    assert again.returncode == 1 and "bereits vergeben" in again.stderr

    wrong = cli(env, workdir, "login", "--org", "PWinkler", "--user", "MartinW",
                extra={"SPRECHZIMMER_PASSWORD": "falsches-Passwort"})
    assert wrong.returncode == 1 and "Anmeldung fehlgeschlagen" in wrong.stderr

    login = cli(env, workdir, "login", "--org", "pwinkler", "--user", "MartinW",
                extra={"SPRECHZIMMER_PASSWORD": PASSWORD})
    assert login.returncode == 0, login.stderr
    assert "Angemeldet als MartinW (admin) bei PWinkler" in login.stdout
    assert cli(env, workdir, "logout").returncode == 0
    assert not (Path(env["SPRECHZIMMER_CONFIG_DIR"]) / "session.json").exists()


def test_data_stays_in_the_working_directory_and_auditors_can_replay(
        served: tuple[dict[str, str], Path]) -> None:
    env, workdir = served
    assert cli(env, workdir, "register", "--from-json", str(FIXTURES / "praxis_winkler.json")).returncode == 0
    if "DATABASE_URL" not in env:
        assert (workdir / "var" / "events.sqlite").exists()
    replay = cli(env, workdir, "events")
    assert replay.returncode == 0, replay.stderr
    events = [json.loads(line) for line in replay.stdout.splitlines()]
    registration = [e["type"] for e in events if e["organisation"]]  # global events (billing runs) aside
    assert registration[:4] == [
        "sprechzimmer.OrganisationShortName.Claimed", "sprechzimmer.Organisation.Registered",
        "sprechzimmer.Device.RegisteredWithOrganisation", "sprechzimmer.Contract.Concluded"]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    assert len({e["chain"] for e in events}) == len(events)
    assert "Praxis Winkler" not in replay.stdout  # payloads only on request
    second = cli(env, workdir, "events")
    assert second.stdout == replay.stdout  # the same history gives the same chain
    with_payload = cli(env, workdir, "events", "--payload")
    assert "Praxis Winkler" in with_payload.stdout
