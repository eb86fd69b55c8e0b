"""The CLI as a practice and an auditor meet it in a script or a terminal: German messages and an exit code
instead of tracebacks, one session per login, --org/--user from the last login, the Stammdaten, and the
words of the registration form."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.cli.conftest import cli, database
from tests.conftest import FIXTURES, PASSWORD, free_port

Served = tuple[dict[str, str], Path]
SEED = str(FIXTURES / "praxis_winkler.json")


def refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit code ≠ 0, the German message on stderr and no Python traceback anywhere."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def sessions(env: dict[str, str], workdir: Path) -> int:
    return int(database(env, workdir, "SELECT count(*) FROM sessions")[0][0])  # type: ignore[call-overload]


def test_bad_input_files_and_an_unreachable_server_give_german_messages(served: Served, tmp_path: Path) -> None:
    env, workdir = served
    refused(cli(env, workdir, "register", "--from-json", str(tmp_path / "fehlt.json")), "fehlt.json",
            "gibt es nicht")
    broken = tmp_path / "kaputt.json"
    broken.write_text('{"plan": "basis",\n  "organisation": }')
    refused(cli(env, workdir, "register", "--from-json", str(broken)), "kein gültiges JSON", "Zeile 2")
    broken.write_text("[1, 2]")
    refused(cli(env, workdir, "register", "--from-json", str(broken)), "JSON-Objekt")
    seed = json.loads(Path(SEED).read_text())
    del seed["credentials"]["user_short"]
    broken.write_text(json.dumps(seed))
    refused(cli(env, workdir, "register", "--from-json", str(broken)), "Kurzname des Benutzers: Pflichtfeld")

    elsewhere = env | {"SPRECHZIMMER_URL": f"http://127.0.0.1:{free_port()}"}
    refused(cli(elsewhere, workdir, "register", "--from-json", SEED), "nicht erreichbar")
    refused(cli(elsewhere, workdir, "devices", "enroll", "--org", "PWinkler", "--user", "MartinW", "--name", "Empfang",
                extra={"SPRECHZIMMER_PASSWORD": PASSWORD}), "nicht erreichbar")
    assert cli(env, workdir, "register", "--from-json", SEED).returncode == 0  # nothing half-done before


def test_no_password_without_a_terminal_and_login_errors_in_the_words_of_the_form(served: Served) -> None:
    env, workdir = served
    assert cli(env, workdir, "register", "--from-json", SEED).returncode == 0
    # stdin is not a terminal and SPRECHZIMMER_PASSWORD is unset: refuse instead of reading the script's stdin.
    refused(cli(env, workdir, "login", "--org", "PWinkler", "--user", "MartinW"), "Passwort fehlt",
            "SPRECHZIMMER_PASSWORD")
    refused(cli(env, workdir, "appointments", "list", "--org", "PWinkler", "--user", "MartinW"),
            "SPRECHZIMMER_PASSWORD")
    refused(cli(env, workdir, "users", "list"), "Kurzname der Organisation", "Kurzname des Benutzers",
            "sprechzimmer login")  # no login yet, so no defaults

    wrong = cli(env, workdir, "login", "--org", "PWinkler", "--user", "MartinW",
                extra={"SPRECHZIMMER_PASSWORD": "falsches-Passwort"})
    refused(wrong, "Anmeldung fehlgeschlagen", "Kurzname der Organisation", "Kurzname des Benutzers", "Passwort")
    assert "Praxiskennung" not in wrong.stderr and "Benutzername" not in wrong.stderr
    for command in (["login"], ["users", "list"], ["appointments", "list"], ["stammdaten", "show"]):
        usage = cli(env, workdir, *command, "--help").stdout
        assert "Kurzname der Organisation" in usage and "Kurzname des Benutzers" in usage, command


def test_commands_reuse_the_session_of_the_login_and_its_names(served: Served) -> None:
    env, workdir = served
    assert cli(env, workdir, "register", "--from-json", SEED).returncode == 0
    assert sessions(env, workdir) == 0
    login = cli(env, workdir, "login", "--org", "pwinkler", "--user", "MartinW",
                extra={"SPRECHZIMMER_PASSWORD": PASSWORD})
    assert login.returncode == 0, login.stderr
    config = Path(env["SPRECHZIMMER_CONFIG_DIR"])
    assert (config / "session.json").stat().st_mode & 0o777 == 0o600

    # No --org/--user and no password: the names come from the login, the session is that of the login.
    added = cli(env, workdir, "appointments", "add", "--start", "2030-06-03 10:00", "--name", "Jörg Böhm")
    assert added.returncode == 0, added.stderr
    appointment_id = re.search(r"\(([0-9a-f-]{36})\)", added.stdout)[1]  # type: ignore[index]
    for command in (["appointments", "list", "--day", "2030-06-03"], ["appointments", "show", appointment_id],
                    ["appointments", "edit", appointment_id, "--phone", "0151 23456789"],
                    ["appointments", "list", "--week", "2030-W23"], ["users", "list"], ["devices", "list"],
                    ["stammdaten", "show"], ["contract", "show"], ["users", "invite", "AnnaM"]):
        done = cli(env, workdir, *command)
        assert done.returncode == 0, (command, done.stderr)
        if command[0] == "appointments":  # decrypted on this machine with the keyring reopened from the session
            assert "Jörg Böhm" in done.stdout, (command, done.stdout)
    assert sessions(env, workdir) == 1

    # The server ended it (expired, or ended elsewhere): the next command logs in again, once.
    database(env, workdir, "DELETE FROM sessions")
    refused(cli(env, workdir, "contract", "show"), "Sitzung ist abgelaufen", "sprechzimmer login")
    refused(cli(env, workdir, "users", "list"), "SPRECHZIMMER_PASSWORD")
    again = cli(env, workdir, "appointments", "show", appointment_id, extra={"SPRECHZIMMER_PASSWORD": PASSWORD})
    assert again.returncode == 0 and "0151 23456789" in again.stdout, again.stderr
    assert cli(env, workdir, "devices", "list").returncode == 0
    assert sessions(env, workdir) == 1

    assert cli(env, workdir, "logout").stdout.strip() == "Abgemeldet."
    assert sessions(env, workdir) == 0
    # The names outlive the session: a new login needs only the password.
    relogin = cli(env, workdir, "login", extra={"SPRECHZIMMER_PASSWORD": PASSWORD})
    assert "Angemeldet als MartinW (admin) bei PWinkler" in relogin.stdout, relogin.stderr
    assert sessions(env, workdir) == 1
    # Logging in again replaces the session instead of leaving the old one behind.
    assert cli(env, workdir, "login", extra={"SPRECHZIMMER_PASSWORD": PASSWORD}).returncode == 0
    assert sessions(env, workdir) == 1 and cli(env, workdir, "users", "list").returncode == 0


def test_stammdaten_show_and_edit_with_the_field_names_of_the_form(served: Served) -> None:
    env, workdir = served
    assert cli(env, workdir, "register", "--from-json", SEED).returncode == 0
    assert cli(env, workdir, "login", extra={"SPRECHZIMMER_PASSWORD": PASSWORD}).returncode == 1  # no names yet
    assert cli(env, workdir, "login", "--org", "PWinkler", "--user", "MartinW",
               extra={"SPRECHZIMMER_PASSWORD": PASSWORD}).returncode == 0
    shown = cli(env, workdir, "stammdaten", "show")
    assert shown.returncode == 0, shown.stderr
    lines = [" ".join(line.split()) for line in shown.stdout.splitlines()]
    for expected in ("Kurzname der Organisation: PWinkler (unveränderlich)", "Name der Organisation: Praxis Winkler",
                     "Art der Organisation: Arztpraxis", "Fachrichtung: nicht angegeben", "Straße: Musterstraße",
                     "PLZ: 12345", "Ort: Musterhausen", "Anrede: Herr", "Titel: nicht angegeben",
                     "E-Mail: m.winkler@mail.de", "Telefon: 01234 5678 910"):
        assert expected in lines, (expected, shown.stdout)

    edited = cli(env, workdir, "stammdaten", "edit", "Telefon=030 1234567", "titel=Dr. med.", "Ort=Berlin")
    assert edited.returncode == 0, edited.stderr
    assert "Stammdaten gespeichert." in edited.stdout
    lines = [" ".join(line.split()) for line in cli(env, workdir, "stammdaten", "show").stdout.splitlines()]
    assert {"Telefon: 030 1234567", "Titel: Dr. med.", "Ort: Berlin", "PLZ: 12345"} <= set(lines)
    assert "Titel: nicht angegeben" in [" ".join(line.split()) for line in cli(
        env, workdir, "stammdaten", "edit", "Titel=").stdout.splitlines()]

    refused(cli(env, workdir, "stammdaten", "edit", "Hausnummer=5"), "Unbekannte Angabe", "Nr")
    refused(cli(env, workdir, "stammdaten", "edit", "PLZ=123"), "postcode")  # the registration's rule
    assert "Ort: Berlin" in " ".join(cli(env, workdir, "stammdaten", "show").stdout.split())


def test_a_damaged_event_is_reported_with_its_position_and_the_replay_goes_on(served: Served) -> None:
    env, workdir = served
    assert cli(env, workdir, "register", "--from-json", SEED).returncode == 0
    intact = cli(env, workdir, "events")
    assert intact.returncode == 0, intact.stderr
    events = [json.loads(line) for line in intact.stdout.splitlines()]
    victim = next(e for e in events if e["type"] == "sprechzimmer.Organisation.Registered")
    _damage(env, workdir, victim["position"])

    replay = cli(env, workdir, "events", "--payload")
    refused(replay, f"Position {victim['position']}", "beschädigt")
    lines = [json.loads(line) for line in replay.stdout.splitlines()]
    # all the others are there, and then the record of this very disclosure of payloads (issue 14 item 4)
    assert [e["position"] for e in lines[:-1]] == [e["position"] for e in events]
    assert lines[-1]["type"] == "sprechzimmer.PayloadDisclosure.Created"
    damaged = [e for e in lines if e.get("damaged")]
    assert [e["position"] for e in damaged] == [victim["position"]]
    assert all("payload" in e for e in lines if e["organisation"] and not e.get("damaged"))


def _damage(env: dict[str, str], workdir: Path, position: int) -> None:
    """Flips one bit in the stored ciphertext of an event, as a failing disk or a careless hand would."""
    if "DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            # The library names the table after the application; the one with notification ids holds the events.
            table = conn.execute("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                                 "AND column_name = 'notification_id'").fetchone()[0]
            state = conn.execute(f"SELECT state FROM {table} WHERE notification_id = %s", (position,)).fetchone()[0]
            damaged = bytes(state[:-1]) + bytes([state[-1] ^ 1])
            conn.execute(f"UPDATE {table} SET state = %s WHERE notification_id = %s", (damaged, position))
        return
    import sqlite3

    with sqlite3.connect(workdir / "var" / "events.sqlite") as conn:
        state = conn.execute("SELECT state FROM stored_events WHERE rowid = ?", (position,)).fetchone()[0]
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (state[:-1] + bytes([state[-1] ^ 1]),
                                                                             position))
