"""`sprechzimmer events`: an auditor's replay of the whole history in order, as JSON lines.

Each line carries the envelope (position, stream, version, type), the digest of the stored record and the
audit chain value stored with it (issue 14: written in the event's own transaction; `sprechzimmer audit
verify` recomputes and checks it). Payloads are printed only on request. A stored record
that cannot be read (damaged bytes, failed authentication) is marked and reported with its position on stderr;
the replay goes on with the rest and ends with exit code 1."""

from __future__ import annotations

import json
from typing import Any, TextIO

from infrastructure.audit_chain import digest_of_stored
from infrastructure.event_cipher import EventKeyDestroyed, org_of_stored
from interfaces.bootstrap import build

PAGE = 1000


def _payload(event: Any) -> dict[str, Any]:
    return {k: (v if isinstance(v, str | int | float | bool | dict | list | type(None)) else str(v))
            for k, v in vars(event).items() if k not in ("originator_id", "originator_version")}


def replay(out: TextIO, with_payload: bool = False, progress: bool = False, errors: TextIO | None = None) -> int:
    container = build(catch_up_after_save=False)
    events = container.services.events
    total = events.position()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="Ereignisse", leave=False)
    position = 0
    damaged: list[int] = []
    try:
        while page := events.recorder.select_notifications(start=position, limit=PAGE, inclusive_of_start=False):
            links = container.chain.links(position, page[-1].id) if container.chain is not None else {}
            for n in page:
                stored_link = links.get(n.id)
                line: dict[str, Any] = {"position": n.id, "stream": str(n.originator_id),
                                        "version": n.originator_version, "type": n.topic,
                                        "organisation": None, "digest": digest_of_stored(n).hex(),
                                        "chain": stored_link.hex() if stored_link is not None else None}
                try:
                    org_id = org_of_stored(n.state)
                    line["organisation"] = str(org_id) if org_id else None
                    event: Any = events.mapper.to_domain_event(n)
                    line["timestamp"] = event.timestamp.isoformat()
                    if with_payload:
                        line["payload"] = _payload(event)
                except EventKeyDestroyed:
                    line["shredded"] = True
                except Exception as error:
                    # Any layer (cipher, JSON, topic, event class) may refuse damaged bytes; the auditor needs
                    # every other record, so this one is reported and the replay goes on.
                    line["damaged"] = True
                    damaged.append(n.id)
                    if errors is not None:
                        errors.write(f"Ereignis an Position {n.id} ({n.topic}) ist beschädigt und kann nicht "
                                     f"gelesen werden ({error.__class__.__name__}).\n")
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            position = page[-1].id
            if bar is not None:
                bar.update(len(page))
    finally:
        if bar is not None:
            bar.close()
        container.close()
    if damaged and errors is not None:
        errors.write(f"{len(damaged)} beschädigte(s) Ereignis(se) an Position {', '.join(map(str, damaged))}; "
                     "alle übrigen wurden ausgegeben.\n")
    return 1 if damaged else 0
