"""`sprechzimmer call` as a user runs it: a patient and a practitioner in two processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.calls.support import GrantBook
from tests.conftest import ROOT, LiveServer

pytestmark = pytest.mark.slow


def test_call_command_connects_and_reports(server: LiveServer, grants: GrantBook, practice: Any,
                                           tmp_path: Path) -> None:
    appointment = grants.add(practice())
    env = {**os.environ, "SPRECHZIMMER_URL": server.url, "SPRECHZIMMER_CONFIG_DIR": str(tmp_path / "patient")}
    # the practitioner's terminal is where the practice logged in: `call` presents that session
    practice_env = {**env, "SPRECHZIMMER_CONFIG_DIR": str(tmp_path / "clients" / "praxis")}

    def run(*args: str, environment: dict[str, str] = env) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "interfaces.cli.main", "call", *args], cwd=ROOT,
                                env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    patient = run("--code", appointment.patient_code, "--test-pattern", "--duration", "4", "--timeout", "60")
    doctor = run("--code", appointment.practitioner_code, "--call-code", appointment.patient_code,
                 "--duration", "4", "--timeout", "60", environment=practice_env)
    out_patient, _ = patient.communicate(timeout=120)
    out_doctor, _ = doctor.communicate(timeout=120)
    assert patient.returncode == 0 and doctor.returncode == 0, (out_patient, out_doctor)
    assert "Im Wartezimmer" in out_patient and "Der Termin beginnt am" in out_patient
    assert "Wartezimmer: Teilnehmer" in out_doctor
    for out in (out_patient, out_doctor):
        assert "Verbunden." in out and "Weg: direkt (Peer-to-Peer)" in out
        last = [line for line in out.splitlines() if line.startswith("Status:")][-1]
        assert int(last.rsplit(" ", 1)[1]) > 10 and "Umlaufzeit" in last

    wrong = run("--code", "0000-0000-0000", "--duration", "1")
    out_wrong, _ = wrong.communicate(timeout=60)
    assert wrong.returncode == 2 and "Der Zugangscode ist ungültig oder abgelaufen." in out_wrong
