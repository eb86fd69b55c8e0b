"""Directory of organisations: id, plan and registration date. No personal data: it feeds the status
page, billing and the erasure schedule."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any, ClassVar

from application.retention import Kept, Retention
from domain.contract import Contract
from domain.organisation import Organisation
from infrastructure.sql import Cursor
from projections.runner import handled_topics


class OrganisationDirectory:
    name = "organisations"
    tables: ClassVar[dict[str, str]] = {"rm_organisations": "org_id"}  # table -> organisation column
    retention: ClassVar[dict[str, Retention]] = {"rm_organisations": Kept(
        "Vertragsdaten (Tag der Registrierung, Tarif), keine Nutzung; mit der Organisation gelöscht")}

    def schema(self) -> list[str]:
        return ["CREATE TABLE IF NOT EXISTS rm_organisations (org_id TEXT PRIMARY KEY, plan TEXT, "
                "registered_at TEXT NOT NULL)"]

    @singledispatchmethod
    def apply(self, event: Any, cur: Cursor) -> None:
        pass

    @apply.register
    def _(self, event: Organisation.Registered, cur: Cursor) -> None:
        cur.execute("INSERT INTO rm_organisations (org_id, plan, registered_at) VALUES (%s, NULL, %s)",
                    (str(event.originator_id), event.timestamp.isoformat()))

    @apply.register
    def _(self, event: Contract.Concluded, cur: Cursor) -> None:
        cur.execute("UPDATE rm_organisations SET plan = %s WHERE org_id = %s", (event.plan, str(event.org_id)))

    @apply.register
    def _(self, event: Contract.Upgraded, cur: Cursor) -> None:
        cur.execute("UPDATE rm_organisations SET plan = 'plus' WHERE org_id = %s", (str(event.org_id),))

    @apply.register
    def _(self, event: Contract.DowngradeRequested, cur: Cursor) -> None:
        cur.execute("UPDATE rm_organisations SET plan = 'basis' WHERE org_id = %s", (str(event.org_id),))

    @staticmethod
    def count(cur: Cursor) -> dict[str, int]:
        rows = cur.execute("SELECT COALESCE(plan, '?'), COUNT(*) FROM rm_organisations GROUP BY plan").fetchall()
        return {plan: int(n) for plan, n in rows}

    topics = handled_topics(apply)  # the events it applies; no other is decoded for it
