"""The parts of a call that live in each server process: the signalling hub (memory in embedded mode,
PostgreSQL otherwise), the call log and the join resolver of the appointments context."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from application.appointments import resolve_join_token
from application.calls import SignallingHub
from application.ports import JoinResolver
from application.services import Services
from infrastructure.call_log import SqlCallLog
from infrastructure.settings import Settings
from infrastructure.sql import Database


@dataclass
class CallComponents:
    hub: SignallingHub
    call_log: SqlCallLog
    join_resolver: JoinResolver


def call_components(settings: Settings, state_db: Database, services: Services) -> CallComponents:
    hub: SignallingHub
    if settings.database_url is None:
        from infrastructure.signalling_memory import MemoryHub

        hub = MemoryHub()
    else:
        from infrastructure.signalling_pg import PostgresHub

        hub = PostgresHub(settings.database_url)
    return CallComponents(hub, SqlCallLog(state_db), partial(resolve_join_token, services))
