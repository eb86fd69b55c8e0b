"""Protocol v1.1 at the API (design/crypto.md §8a.1–2): the org_box key pair comes from its seed, and short
names follow one alphabet and one key rule in the server and the SDK."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nacl.public import PrivateKey

from interfaces.client import users
from interfaces.client.keystore import LocalStore
from interfaces.client.sdk import ApiError, Client
from sprechzimmer_protocol.names import MSG_SHORT_NAME
from tests.conftest import PASSWORD, TEST_ORIGIN, LiveServer, operator_status, register, seed_form, split_form

OUTSIDE_THE_ALPHABET = ["Zoë", "Ωmega", "ẞtraße", "Praxis Nord", "Ärzte!"]


def _prepared_body(tmp_path: Any, **credentials: str) -> dict[str, Any]:
    """The body the SDK sends for the seed organisation, captured instead of sent."""
    captured: dict[str, Any] = {}

    def capture(request: httpx.Request) -> httpx.Response:
        captured.update(json.loads(request.content))
        return httpx.Response(201, json={})

    client = Client(TEST_ORIGIN, LocalStore(tmp_path / "capture"), transport=httpx.MockTransport(capture))
    form, secrets = split_form(seed_form())
    form["credentials"].update(credentials)
    client.register(form, *secrets)
    return captured


@pytest.mark.parametrize("name", OUTSIDE_THE_ALPHABET)
def test_server_refuses_short_names_outside_the_alphabet(server: LiveServer, tmp_path: Any, name: str) -> None:
    body = _prepared_body(tmp_path)
    body["credentials"]["org_short"] = name  # what a client that skips the check would send
    answer = httpx.post(server.url + "/api/v1/registrations", json=body)
    assert answer.status_code == 400
    assert answer.json()["errors"]["credentials.org_short"] == [MSG_SHORT_NAME]
    assert "Ä, Ö, Ü, ä, ö, ü, ß" in MSG_SHORT_NAME
    assert operator_status(server)["organisations"] == {}


@pytest.mark.parametrize("name", OUTSIDE_THE_ALPHABET)
def test_sdk_refuses_them_before_sending(tmp_path: Any, name: str) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    client = Client(TEST_ORIGIN, LocalStore(tmp_path / "sdk"), transport=httpx.MockTransport(refuse))
    form, secrets = split_form(seed_form())
    form["credentials"]["user_short"] = name
    with pytest.raises(ApiError) as err:
        client.register(form, *secrets)
    assert err.value.status == 400 and err.value.errors["credentials.user_short"] == [MSG_SHORT_NAME]


def test_umlauts_and_sharp_s_match_in_any_spelling(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    """The key is NFC(trim) lower-cased with ß → ss: a decomposed ü (as macOS keyboards type it) logs in."""
    client = new_client("a")
    register(client, credentials__org_short="Zahnarzt-Müller", credentials__user_short="Weiß")
    decomposed = unicodedata.normalize("NFD", " ZAHNARZT-MÜLLER ")
    session = client.login(decomposed, "WEISS", PASSWORD)
    assert session.org_short == "Zahnarzt-Müller" and session.user_short == "Weiß"
    with pytest.raises(ApiError) as err:  # the same organisation in another spelling is taken
        register(new_client("b"), credentials__org_short=unicodedata.normalize("NFD", "zahnarzt-müller"))
    assert err.value.status == 409


def test_user_names_outside_the_alphabet_are_refused_by_the_sdk(server: LiveServer,
                                                                new_client: Callable[[str], Client]) -> None:
    admin = new_client("a")
    register(admin)
    admin.login("PWinkler", "MartinW", PASSWORD)
    for invite in (False, True):
        with pytest.raises(ApiError) as err:
            if invite:
                users.invite(admin, "Zoë")
            else:
                users.add_user(admin, "Zoë", "staff", "Empfang#Praxis2024")
        assert err.value.status == 400 and err.value.errors["user_short"] == [MSG_SHORT_NAME]
    assert [u["user_short"] for u in users.list_users(admin)] == ["MartinW"]


def test_login_with_a_name_outside_the_alphabet_stays_generic(server: LiveServer,
                                                              new_client: Callable[[str], Client]) -> None:
    """Login never says whether a name is malformed or unknown: the same answer as for any unknown account."""
    client = new_client("a")
    register(client)
    answers = []
    for org in ("Zoë", "Unbekannt"):
        start = httpx.post(server.url + "/api/v1/auth/start",
                           json={"org": org, "user": "MartinW", "device_id": "dev-x", "origin": server.url})
        answers.append((start.status_code, sorted(start.json())))
    assert answers[0] == answers[1] and answers[0][0] == 200


def test_org_box_key_pair_is_derived_from_its_seed(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    """§8a.1: the org_box public key the server stores is crypto_box_seed_keypair(org_box_seed)."""
    client = new_client("a")
    register(client)
    keyring = client.login("PWinkler", "MartinW", PASSWORD).keyring
    organisation = server.container.services.events.organisation_by_short_name("PWinkler")
    assert organisation is not None
    assert organisation.org_box_pk == bytes(PrivateKey.from_seed(keyring.org_box_seed).public_key).hex()
    assert organisation.org_box_pk != bytes(PrivateKey(keyring.org_box_seed).public_key).hex()
