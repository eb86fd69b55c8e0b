"""Registration and login of the seed's example organisation through the HTTP API with the SDK."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from interfaces.client.sdk import ApiError, Client
from tests.conftest import PASSWORD, LiveServer, operator_status, register


def test_seed_organisation_registers_and_logs_in(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    client = new_client("laptop-martin")
    result = register(client)
    assert result["org_short"] == "PWinkler" and result["user_short"] == "MartinW" and result["plan"] == "basis"

    session = client.login("PWinkler", "MartinW", PASSWORD)
    assert session.role == "admin"
    assert session.keyring.version == 1 and 1 in session.keyring.data_keys  # the keyring opened on this device
    assert client.whoami()["plan"] == "basis"

    client.logout()
    with pytest.raises(ApiError) as err:
        client.whoami()
    assert err.value.status == 401


def test_short_names_are_matched_forgivingly_at_login(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    client = new_client("a")
    register(client)
    assert client.login(" pwinkler ", "martinw", PASSWORD).user_short == "MartinW"


@pytest.mark.parametrize("variant", ["PWinkler", "pwinkler", "  PWINKLER  "])
def test_duplicate_short_name_is_a_conflict(server: LiveServer, new_client: Callable[[str], Client],
                                            variant: str) -> None:
    register(new_client("first"))
    with pytest.raises(ApiError) as err:
        register(new_client("second"), credentials__org_short=variant)
    assert err.value.status == 409
    assert "credentials.org_short" in err.value.errors
    status = operator_status(server)
    assert status["organisations"] == {"basis": 1}  # never a second organisation


def test_plus_registration_records_the_sepa_mandate(server: LiveServer, new_client: Callable[[str], Client]) -> None:
    client = new_client("a")
    result = register(client, plan="plus", billing={
        "account_holder": "Dr. med. Martin Winkler", "iban": "DE89 3704 0044 0532 0130 00",
        "bic": "COBADEFFXXX", "sepa_mandate": True})
    assert result["plan"] == "plus" and result["mandate_reference"].startswith("SPZ-")
    client.login("PWinkler", "MartinW", PASSWORD)
    assert client.whoami()["plan"] == "plus"


def test_client_refuses_weak_or_mismatched_secrets_before_sending(server: LiveServer,
                                                                  new_client: Callable[[str], Client]) -> None:
    from tests.conftest import seed_form, split_form

    form, (pw, _, mp, _) = split_form(seed_form())
    client = new_client("a")
    with pytest.raises(ApiError) as err:
        client.register(form, "kurz", "kurz", mp, mp)
    assert err.value.errors["password"] == ["Das Passwort muss 8 bis 32 Zeichen lang sein."]
    with pytest.raises(ApiError) as err:
        client.register(form, pw, pw + "x", mp, mp)
    assert "password_repeat" in err.value.errors
    with pytest.raises(ApiError) as err:
        client.register(form, pw, pw, "passwort1234", "passwort1234")
    assert "master_password" in err.value.errors
    with pytest.raises(ApiError) as err:
        client.register(form, "ä" * 33, "ä" * 33, mp, mp)
    assert err.value.errors["password"] == ["Das Passwort darf höchstens 32 Zeichen lang sein."]


def test_password_longer_than_32_is_refused_at_the_form(server: LiveServer,
                                                         new_client: Callable[[str], Client]) -> None:
    client = new_client("a")
    register(client)
    with pytest.raises(ApiError) as err:
        client.login("PWinkler", "MartinW", PASSWORD + "x" * 20)
    assert err.value.status == 400 and "höchstens 32" in err.value.detail


class RaisingRoles(httpx.HTTPTransport):
    """A malicious server in transit: every login answer claims the administrator role."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path != "/api/v1/auth/finish" or response.status_code != 200:
            return response
        response.read()
        body = response.json() | {"role": "admin"}
        return httpx.Response(200, json=body, headers={"content-type": "application/json"})


def test_a_role_the_organisation_did_not_certify_is_refused(server: LiveServer,
                                                           new_client: Callable[[str], Client]) -> None:
    from interfaces.client import users
    from interfaces.client.sdk import TamperingDetected

    admin = new_client("a")
    register(admin)
    admin.login("PWinkler", "MartinW", PASSWORD)
    users.add_user(admin, "Empfang", "staff", "Empfang#Praxis2024")
    tampered = Client(server.url, admin.store, transport=RaisingRoles())
    with pytest.raises(TamperingDetected):
        tampered.login("PWinkler", "Empfang", "Empfang#Praxis2024")
    assert tampered.login("PWinkler", "MartinW", PASSWORD).role == "admin"  # a true claim still passes
    tampered.close()
