"""The seed's example organisation registers and logs in through the CLI against `sprechzimmer serve`
(gunicorn + uvicorn workers), and an auditor replays the history."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import cli
from tests.conftest import FIXTURES, PASSWORD


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
    verified = cli(env, workdir, "audit", "verify")  # the chain `events` prints is the one stored and verified
    assert verified.returncode == 0, verified.stderr
    assert f"Kopf {events[-1]['chain']}" in verified.stdout
    with_payload = cli(env, workdir, "events", "--payload")
    assert "Praxis Winkler" in with_payload.stdout
