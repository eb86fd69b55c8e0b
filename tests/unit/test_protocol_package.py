"""Issue 9 item 9: the protocol is a package of its own and the Python SDK depends on it alone, so the
browser client can mirror it and the SDK never loads the server (or eventsourcing)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from sprechzimmer_protocol.errors import TamperingDetected
from sprechzimmer_protocol.keyring import Keyring, KeyringGrant
from sprechzimmer_protocol.keys import DeviceKeys
from sprechzimmer_protocol.primitives import random_bytes
from sprechzimmer_protocol.records import RecordEnvelope
from sprechzimmer_protocol.values import (
    BankMandate,
    DeviceCertificate,
    MasterKeyParams,
    PasswordVerifier,
    UserCertificate,
)

ROOT = Path(__file__).resolve().parents[2]
SERVER = ("application", "infrastructure", "interfaces", "projections", "domain", "eventsourcing")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute module a file imports (relative imports stay inside their package)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("tree", ["sprechzimmer_protocol", "interfaces/client"])
def test_no_server_imports(tree: str) -> None:
    offending = [f"{path.relative_to(ROOT)}:{line} {module}"
                 for path in sorted((ROOT / tree).rglob("*.py")) for line, module in _imports(path)
                 if module.split(".")[0] in SERVER]
    assert offending == []
    # and a plain grep finds none either (relative imports inside interfaces/client)
    text = "\n".join(path.read_text() for path in (ROOT / tree).rglob("*.py"))
    for name in SERVER:
        assert f"from {name}" not in text and f"import {name}" not in text


def test_the_sdk_loads_neither_the_server_nor_eventsourcing() -> None:
    probe = ("import sys, interfaces.client.sdk, interfaces.client.users, interfaces.client.recovery, "
             "interfaces.client.appointments, interfaces.client.contract\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(SERVER) - {'interfaces'}!r}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_what_the_domain_imports_stays_free_of_nacl() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys, domain.values, domain.base; print('nacl' in sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_values_survive_the_wire() -> None:
    keyring = Keyring.new("6f1c2a4e-1b7d-4c2a-9f0e-2d3c4b5a6978")
    verifier = PasswordVerifier(random_bytes(16), 2, 64 * 1024 * 1024, random_bytes(32))
    user = UserCertificate(keyring.org_id, "selinoe", "staff", verifier).signed(keyring)
    assert UserCertificate.from_wire(keyring.org_id, user.to_wire()) == user and user.verifies(keyring.sign_pk)
    device_keys = DeviceKeys.from_seed(random_bytes(32))
    device = DeviceCertificate(keyring.org_id, "dev-1", "Empfang", device_keys.sign_pk, device_keys.box_pk,
                               "2026-12-01T09:00:00+00:00", "registration").signed(keyring)
    assert DeviceCertificate.from_wire(keyring.org_id, device.to_wire()) == device
    assert not DeviceCertificate.from_wire(keyring.org_id, {**device.to_wire(), "name": "Fremd"}).verifies(
        keyring.sign_pk)
    master = MasterKeyParams(random_bytes(16), 3, 256 * 1024 * 1024, random_bytes(32), random_bytes(32),
                             random_bytes(32)).certified(keyring)
    assert MasterKeyParams.from_wire(master.to_wire()) == master and master.cert_verifies(keyring.org_id,
                                                                                         keyring.sign_pk)
    mandate = BankMandate("Praxis Winkler", "DE02120300000000202051", "BYLADEM1001", True)
    assert BankMandate.from_wire(mandate.to_wire()) == mandate


def test_grants_open_only_for_the_pinned_org_and_never_roll_back() -> None:
    keyring = Keyring.new("org-1")
    device = DeviceKeys.from_seed(random_bytes(32))
    grant = KeyringGrant.from_wire({"version": 1, **keyring.grant("dev-1", device.box_pk).to_wire()})
    assert grant.open("org-1", "dev-1", keyring.sign_pk, device.box, 1) == keyring
    with pytest.raises(TamperingDetected):
        grant.open("org-1", "dev-2", keyring.sign_pk, device.box, 1)  # granted to someone else
    with pytest.raises(TamperingDetected):
        grant.open("org-1", "dev-1", Keyring.new("org-1").sign_pk, device.box, 1)  # not the pinned org key
    with pytest.raises(TamperingDetected):
        grant.open("org-1", "dev-1", keyring.sign_pk, device.box, 2)  # older than what this device has seen


def test_record_envelope_is_bound_to_its_record() -> None:
    keyring = Keyring.new("org-1").rotated()
    envelope = RecordEnvelope.seal(keyring, "appt-1", "patient", 1, "Jörg Böhm".encode())
    wire = RecordEnvelope.from_wire(envelope.to_wire())
    assert wire.kver == 2 and wire.open(keyring, "appt-1", "patient", "manipuliert").decode() == "Jörg Böhm"
    with pytest.raises(TamperingDetected, match="manipuliert"):
        wire.open(keyring, "appt-2", "patient", "manipuliert")
