"""The `sprechzimmer appointments` commands against a live server, as a practice would type them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from interfaces.cli.main import main
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import Client
from tests.appointments.conftest import PLUS_BILLING
from tests.conftest import PASSWORD, Clock, LiveServer, register

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def cli_for_registered_practice(server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str], **changes: Any) -> Callable[..., str]:
    """Registers the seed practice with the CLI's own device storage and returns `run(*argv)` for
    `sprechzimmer appointments …`, which must succeed and gives what it printed."""
    config = tmp_path / "cli-config"
    sdk = Client(server.url, LocalStore(config))
    register(sdk, **changes)
    sdk.close()
    monkeypatch.setenv("SPRECHZIMMER_URL", server.url)
    monkeypatch.setenv("SPRECHZIMMER_CONFIG_DIR", str(config))
    monkeypatch.setenv("SPRECHZIMMER_PASSWORD", PASSWORD)

    def run(*argv: str) -> str:
        assert main(["appointments", *argv]) == 0
        return capsys.readouterr().out

    return run


def test_appointment_commands(server: LiveServer, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    clock.set(START - timedelta(days=1))
    run = cli_for_registered_practice(server, tmp_path, monkeypatch, capsys)

    out = run("add", "--org", "PWinkler", "--user", "MartinW", "--start", "2026-12-01 10:00", "--duration", "30",
              "--name", "Jörg Böhm", "--email", "joerg@example.org")
    appointment_id = re.search(r"\(([0-9a-f-]{36})\)", out)[1]  # type: ignore[index]
    assert "01.12.2026 10:00" in out and "Jörg Böhm" in out
    old_code = re.search(r"Zugangscode Patient:\s+(\S+)", out)[1]  # type: ignore[index]

    assert "Jörg Böhm" in run("list", "--day", "2026-12-01")
    assert "Jörg Böhm" in run("list", "--week", "2026-W49")
    assert "Keine Termine." in run("list", "--day", "2026-12-02")
    assert "01.12.2026 11:00  45 min" in run("reschedule", appointment_id, "--start", "2026-12-01T11:00:00+01:00",
                                             "--duration", "45")
    assert "Einwilligung: mündlich" in run("consent", appointment_id, "--method", "mündlich")
    assert "Telefon: 0151 23456789" in run("edit", appointment_id, "--phone", "0151 23456789")
    out = run("reissue-codes", appointment_id)
    new_code = re.search(r"Zugangscode Patient:\s+(\S+)", out)[1]  # type: ignore[index]
    assert new_code != old_code and new_code in run("show", appointment_id)

    ics = tmp_path / "termin.ics"
    out = run("invite", appointment_id, "--ics", str(ics), "--practice", "Praxis Winkler")
    assert new_code in out and "mailto:joerg@example.org?subject=" in out
    event = next(iter(icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")))
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    assert main(["appointments", "invite", appointment_id, "--sms", "--phone", "0151 23456789"]) == 1  # basis
    assert "nur im Tarif plus" in capsys.readouterr().err
    assert "abgesagt" in run("cancel", appointment_id)
    assert "[abgesagt]" in run("list", "--day", "2026-12-01")


def test_conference_commands(server: LiveServer, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """`add --participants 3` in plus prints a code per participant and the Konferenzcode; each participant's
    invitation carries their own code and the Konferenzcode; basis is refused with the plan's message."""
    clock.set(START - timedelta(days=1))
    run = cli_for_registered_practice(server, tmp_path, monkeypatch, capsys, plan="plus", billing=PLUS_BILLING)

    out = run("add", "--org", "PWinkler", "--user", "MartinW", "--start", "2026-12-01 10:00", "--name", "Jörg Böhm",
              "--participants", "3")
    appointment_id = re.search(r"\(([0-9a-f-]{36})\)", out)[1]  # type: ignore[index]
    codes = {1: re.search(r"Zugangscode Patient:\s+(\S+)", out)[1]}  # type: ignore[index]
    for n in (2, 3):
        codes[n] = re.search(rf"Zugangscode Teilnehmer {n}:\s+(\S+)", out)[1]  # type: ignore[index]
    call_code = re.search(r"Konferenzcode .*: (\S+)", out)[1]  # type: ignore[index]
    assert len({*codes.values(), call_code}) == 4
    for n in (1, 2, 3):
        invitation = run("invite", appointment_id, "--participant", str(n), "--name", f"Gast {n}")
        assert codes[n] in invitation and call_code in invitation and f"Guten Tag Gast {n}," in invitation
        assert not any(code in invitation for m, code in codes.items() if m != n)
    assert main(["appointments", "add", "--start", "2026-12-01 11:00", "--name", "x", "--participants", "4"]) == 1
    assert "1 bis 3" in capsys.readouterr().err


def test_list_without_day_shows_the_berlin_date(server: LiveServer, clock: Clock, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """At 00:30 on New Year's Day in Berlin (23:30 UTC on 31 December) "today" is 1 January."""
    from interfaces.cli import appointments as cli

    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    clock.set(new_year)
    monkeypatch.setattr(cli, "now", lambda: new_year)
    run = cli_for_registered_practice(server, tmp_path, monkeypatch, capsys)
    login = ("--org", "PWinkler", "--user", "MartinW")
    run("add", *login, "--start", "2027-01-01 10:00", "--name", "Jörg Böhm")
    run("add", *login, "--start", "2026-12-31 10:00", "--name", "Eva Jäger")
    out = run("list", *login)
    assert "01.01.2027 10:00" in out and "Jörg Böhm" in out and "Eva Jäger" not in out


def test_add_with_a_reminder_on_basis_creates_nothing(server: LiveServer, clock: Clock, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The reminder is refused before the appointment exists, so the user's retry makes no duplicate."""
    clock.set(START - timedelta(days=1))
    run = cli_for_registered_practice(server, tmp_path, monkeypatch, capsys)
    login = ("--org", "PWinkler", "--user", "MartinW")
    argv = ["appointments", "add", *login, "--start", "2026-12-01 10:00", "--name", "Jörg Böhm",
            "--phone", "0151 23456789", "--reminder", "60"]
    assert main(argv) == 1
    assert "nur im Tarif plus" in capsys.readouterr().err
    assert "Keine Termine." in run("list", *login, "--day", "2026-12-01")
    assert main(argv[:-2]) == 0  # without the reminder it works, once
    capsys.readouterr()
    assert run("list", *login, "--day", "2026-12-01").count("Jörg Böhm") == 1


def test_add_with_a_reminder_on_plus_is_one_step(server: LiveServer, clock: Clock, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    clock.set(START - timedelta(days=1))
    run = cli_for_registered_practice(server, tmp_path, monkeypatch, capsys, plan="plus", billing=PLUS_BILLING)
    out = run("add", "--org", "PWinkler", "--user", "MartinW", "--start", "2026-12-01 10:00", "--name", "Jörg Böhm",
              "--phone", "0151 23456789", "--reminder", "60")
    assert "SMS-Erinnerung: 60 Minuten vorher" in out
    assert re.search(r"Die Erinnerungs-SMS hat \d+ Zeichen \(GSM-7\), 1 SMS-Segment, 0,10 EUR\.", out)
    appointment_id = re.search(r"\(([0-9a-f-]{36})\)", out)[1]  # type: ignore[index]
    out = run("invite", "--org", "PWinkler", "--user", "MartinW", appointment_id, "--sms")
    assert re.search(r"Die SMS hat \d+ Zeichen \(GSM-7\), 1 SMS-Segment, 0,10 EUR\.", out)  # before sending
    assert out.index("SMS-Segment") < out.index("Einladung per SMS versandt.")
