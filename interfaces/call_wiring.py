"""The parts of a call that live in each server process: the signalling hub (memory in embedded mode,
PostgreSQL otherwise), the call log and the join resolver of the appointments context."""

from __future__ import annotations

from dataclasses import dataclass

from application.calls import SignallingHub
from application.ports import JoinGrant, JoinResolver
from infrastructure.call_log import SqlCallLog
from infrastructure.settings import Settings
from infrastructure.sql import Database


def no_appointments(join_token: bytes) -> JoinGrant | None:
    """Until the appointments context is wired (`resolve_join_token`), no code opens a room."""
    return None


@dataclass
class CallComponents:
    hub: SignallingHub
    call_log: SqlCallLog
    join_resolver: JoinResolver


def call_components(settings: Settings, state_db: Database) -> CallComponents:
    hub: SignallingHub
    if settings.database_url is None:
        from infrastructure.signalling_memory import MemoryHub

        hub = MemoryHub()
    else:
        from infrastructure.signalling_pg import PostgresHub

        hub = PostgresHub(settings.database_url)
    return CallComponents(hub, SqlCallLog(state_db), no_appointments)
