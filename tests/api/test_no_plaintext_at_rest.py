"""After registration and login, the registration's plaintext and every secret are nowhere at rest or in logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from application.errors import AUTH_FAILED_MESSAGE
from interfaces.client.keystore import MSG_DEVICE_UNLOCK, PASSPHRASE_ENV, DeviceLocked, LocalStore
from interfaces.client.sdk import ApiError, Client
from tests.conftest import MASTER_PASSWORD, PASSWORD, LiveServer, register

IBAN = "DE89370400440532013000"
PLAINTEXT = ["Praxis Winkler", "Musterstraße", "Musterhausen", "m.winkler@mail.de", "01234 5678 910",
             IBAN, "Dr. med. Martin Winkler"]


def forms(value: str) -> list[bytes]:
    """The ways a value could sit in storage: UTF-8, hex of UTF-8, and JSON-escaped."""
    raw = value.encode()
    return [raw, raw.hex().encode(), value.encode("unicode_escape")]


def raw_storage(server: LiveServer) -> bytes:
    settings = server.settings
    if settings.database_url is None:
        return b"".join(path.read_bytes() for path in Path(settings.data_dir).rglob("*") if path.is_file())
    chunks = []
    with psycopg.connect(settings.database_url) as conn:
        tables = conn.execute("SELECT schemaname, tablename FROM pg_tables "
                              "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").fetchall()
        for schema, table in tables:
            for (row,) in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall():
                chunks.append(row.encode())
    return b"\n".join(chunks)


def test_nothing_readable_at_rest_or_in_logs(server: LiveServer, new_client: Callable[[str], Client],
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = new_client("a")
    register(client, plan="plus", billing={"account_holder": "Dr. med. Martin Winkler", "iban": IBAN,
                                           "bic": "COBADEFFXXX", "sepa_mandate": True})
    session = client.login("PWinkler", "MartinW", PASSWORD)
    client.whoami()
    device = client.store.device(client.origin, "pwinkler")
    assert device is not None
    secrets = [PASSWORD, MASTER_PASSWORD, device.seed, session.token, session.keyring.org_sign_seed.hex(),
               session.keyring.data_keys[1].hex()]

    storage = raw_storage(server)
    assert b"sprechzimmer" in storage.lower() or len(storage) > 1000  # the scan really read the store
    for value in PLAINTEXT + secrets:
        for form in forms(value):
            assert form not in storage, f"{value!r} found at rest"
    logs = caplog.text.encode()
    for value in PLAINTEXT + secrets:
        assert value.encode() not in logs, f"{value!r} found in the logs"


def test_the_client_keeps_its_device_seed_private(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    client = new_client("a")
    register(client)
    files = list(client.store.directory.rglob("*.json"))
    assert files and all(path.stat().st_mode & 0o077 == 0 for path in files)


def test_verifiers_and_device_keys_are_sealed_in_read_models_and_files_are_private(
        server: LiveServer, new_client: Callable[[str], Client]) -> None:
    """§8a.9 / issue 10.8: pw_salt/pk_pw and device keys are in no table in the clear (a stolen state database
    gives no offline guess), yet the admin's listing shows them; data directory 0700, database files 0600."""
    client = new_client("a")
    register(client)
    client.login("PWinkler", "MartinW", PASSWORD)
    me = next(u for u in client.request("GET", "/api/v1/users", auth=True)["users"] if u["user_short"] == "MartinW")
    device = next(iter(client.request("GET", "/api/v1/devices", auth=True)["devices"]))
    values = [me["pk_pw"], me["pw_salt"], device["dev_sign_pk"], device["dev_box_pk"]]
    assert all(len(v) in (32, 64) for v in values)
    storage = raw_storage(server)
    for value in values:
        for form in (value.encode(), bytes.fromhex(value)):
            assert form not in storage, f"{value} found at rest"
    if server.settings.database_url is None:
        data_dir = Path(server.settings.data_dir)
        assert data_dir.stat().st_mode & 0o777 == 0o700
        databases = list(data_dir.glob("*.sqlite*"))
        assert len(databases) >= 3 and all(path.stat().st_mode & 0o077 == 0 for path in databases)


@pytest.mark.parametrize("unlock", ["passphrase", "password"])
def test_the_device_seed_is_stored_wrapped_and_a_wrong_unlock_fails_in_german(
        server: LiveServer, new_client: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch,
        unlock: str) -> None:
    """Issue 10.9: no seed hex in the device file; a later process unlocks it (passphrase or login password)
    and logs in; a wrong passphrase or password is a clean German refusal, before anything is sent."""
    if unlock == "password":
        monkeypatch.delenv(PASSPHRASE_ENV)
    client = new_client("a")
    register(client)
    record = client.store.device(client.origin, "pwinkler")
    assert record is not None and len(record.seed) == 64
    files = list((client.store.directory / "devices").glob("*.json"))
    assert len(files) == 1
    text = files[0].read_text()
    assert record.seed not in text and json.loads(text)["seed_wrap"]["by"] == unlock

    later = Client(server.url, LocalStore(client.store.directory))  # a new process: nothing in memory
    assert later.login("PWinkler", "MartinW", PASSWORD).keyring.version == 1
    later.close()

    wrong = Client(server.url, LocalStore(client.store.directory))
    if unlock == "passphrase":
        monkeypatch.setenv(PASSPHRASE_ENV, "eine ganz andere Passphrase")
        with pytest.raises(DeviceLocked) as locked:
            wrong.login("PWinkler", "MartinW", PASSWORD)
        assert str(locked.value) == MSG_DEVICE_UNLOCK
    else:  # the password that unlocks the device is the login password: the form's single login failure
        with pytest.raises(ApiError) as failed:
            wrong.login("PWinkler", "MartinW", "Falsches#Passwort1")
        assert failed.value.status == 401 and failed.value.detail == AUTH_FAILED_MESSAGE
        # Later commands of the same login open the device without the password (its key is held by the session
        # only while the login lasts) and see no seed hex either.
        later = Client(server.url, LocalStore(client.store.directory))
        later.login("PWinkler", "MartinW", PASSWORD)
        resumed = Client(server.url, LocalStore(client.store.directory)).resume("PWinkler", "MartinW")
        assert resumed is not None
        assert record.seed not in "".join(p.read_text() for p in client.store.directory.rglob("*.json"))
        later.logout()
        assert Client(server.url, LocalStore(client.store.directory)).resume("PWinkler", "MartinW") is None
    wrong.close()
