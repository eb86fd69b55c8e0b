"""Helpers of the contract tests: a registered, logged-in practice at a given day, and the bank data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from infrastructure.settings import Settings, retention_seed
from interfaces.client.sdk import Client
from sprechzimmer_protocol.primitives import box_key, unseal
from tests.conftest import PASSWORD, Clock, register

BANK = {"account_holder": "Dr. med. Martin Winkler", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
        "sepa_mandate": True}


def at(clock: Clock, day: date, hour: int = 9) -> None:
    clock.set(datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC))


def practice(new_client: Callable[[str], Client], clock: Clock, day: date, name: str = "PWinkler",
             **changes: Any) -> tuple[Client, dict[str, Any]]:
    """Registers (on `day`) and logs in the seed practice, under another short name if given."""
    at(clock, day)
    client = new_client(name)
    result = register(client, credentials__org_short=name, **changes)
    client.login(name, "MartinW", PASSWORD)
    return client, result


def relogin(client: Client, name: str = "PWinkler") -> None:
    """After the clock jumped, the session has expired like it would in reality."""
    client.login(name, "MartinW", PASSWORD)


def sepa_xml(settings: Settings, path: Path) -> bytes:
    """A SEPA file as the bank gets it: on disk it is sealed to the operator's retention key (issue 15.2)."""
    return unseal(box_key(retention_seed(settings.secrets)), path.read_bytes())
