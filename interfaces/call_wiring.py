"""The parts of a call that live in each server process: the signalling hub (memory in embedded mode,
PostgreSQL otherwise), the call log and the join resolver of the appointments context."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from application.appointments import resolve_join_token
from application.calls import Member, SignallingHub
from application.ports import JoinResolver
from application.services import Services
from infrastructure.call_log import SqlCallLog
from infrastructure.readmodel_cipher import ReadModelCipher
from infrastructure.settings import Settings
from infrastructure.sql import Database


@dataclass
class CallComponents:
    hub: SignallingHub
    call_log: SqlCallLog
    join_resolver: JoinResolver


def call_components(settings: Settings, state_db: Database, services: Services) -> CallComponents:
    hub: SignallingHub
    call_log = SqlCallLog(state_db, ReadModelCipher(services.keystore))

    def gone(org_id: str, room_id: str, member: Member) -> None:
        """A member reported gone without its socket's handler: held by a dead worker (PostgreSQL) or by the
        process before a restart (embedded); its address is not known here."""
        call_log.record(org_id, room_id, member.peer_id, member.role, "gone", services.now(), "")

    if settings.database_url is None:
        from infrastructure.signalling_memory import MemoryHub

        hub = MemoryHub(state_db, grace=settings.call_grace_seconds, now=services.now, on_gone=gone)
    else:
        from infrastructure.signalling_pg import PostgresHub

        hub = PostgresHub(settings.database_url, heartbeat=settings.call_heartbeat_seconds,
                          grace=settings.call_grace_seconds, now=services.now, on_gone=gone)
    return CallComponents(hub, call_log, partial(resolve_join_token, services))
