"""The TypeScript protocol and the Python SDK read each other's keyring grants and appointment records
(issue 11: appointments created on either side decrypt on the other, umlauts and ß included)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest

from interfaces.client.appointments import PatientRecord, open_record, seal_record
from interfaces.client.sdk import Keyring, open_grant
from sprechzimmer_protocol.codes import new_code
from sprechzimmer_protocol.keys import DeviceKeys, master_keys
from sprechzimmer_protocol.primitives import random_bytes
from tests.conftest import ROOT


def run_typescript(payload: dict) -> dict:
    if shutil.which("npx") is None:
        pytest.fail("Node.js fehlt: bitte Node.js ≥ 20.19 installieren und `make web` ausführen.")
    done = subprocess.run(["npx", "tsx", "test/interop.ts"], cwd=ROOT / "web", input=json.dumps(payload),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_records_and_grants_cross_between_python_and_typescript() -> None:
    org_id, appointment_id = str(uuid.uuid4()), str(uuid.uuid4())
    keyring = Keyring.new(org_id)
    seed = random_bytes(32)
    device = DeviceKeys.from_seed(seed)
    mp = master_keys("Ärztehaus Süd: Schlüssel 7!", random_bytes(16))
    patient = PatientRecord(name="Erika Müßig", email="erika@example.de", phone="+49 30 1234567",
                            note="Rückruf wegen Blutdruck",
                            codes={"patient": new_code(), "practitioner": new_code()})
    answer = run_typescript({
        "device_seed": seed.hex(), "device_id": "dev-1", "org_id": org_id, "org_sign_pk": keyring.sign_pk.hex(),
        "grant": {"version": keyring.version, **keyring.grant("dev-1", bytes(device.box.public_key)).to_wire()},
        "appointment_id": appointment_id, "record": seal_record(keyring, appointment_id, patient),
        "reply_patient": {"name": "Jörg Weiß-Öztürk", "email": None, "phone": None, "note": "Straße ẞ 5",
                          "codes": {"patient": "7KWZ-AEAX-CT2A", "practitioner": "04HM-ASW9-NF6Y"}},
        "mp_box_pk": bytes(mp.box.public_key).hex(),
    })
    # Python → TypeScript: the grant opened, the record decrypted, bound to its appointment.
    assert answer["opened"]["name"] == "Erika Müßig" and answer["opened"]["codes"] == patient.codes
    assert "nicht echt" in answer["refused"]
    # TypeScript → Python: its record and its grant (signed with the org key) open with the SDK.
    reply = open_record(keyring, appointment_id, answer["record"])
    assert reply.name == "Jörg Weiß-Öztürk" and reply.note == "Straße ẞ 5"
    assert reply.codes["patient"] == "7KWZ-AEAX-CT2A"
    granted = open_grant(answer["grant"], org_id, "mp", keyring.sign_pk, mp.box, 1)
    assert granted.data_keys == keyring.data_keys and granted.org_sign_seed == keyring.org_sign_seed
