"""Reading the practice's access log on an admin's device: entries come sealed to the organisation's box key
and are opened here with the keyring; the server cannot read them."""

from __future__ import annotations

import json
from typing import Any

from nacl.exceptions import CryptoError

from sprechzimmer_protocol.primitives import unseal

from .sdk import ApiError, Client

KINDS = {"login": "Anmeldung", "device-request": "Gerät angefragt", "device-approval": "Gerät freigegeben",
         "recovery-failed": "Masterpasswort: Fehlversuch", "recovery-succeeded": "Masterpasswort: Anmeldung",
         "recovery-completed": "Masterpasswort: Gerät freigegeben", "contract": "Vertrag",
         "call-join": "Sprechstunde betreten (Code)"}
LABELS = {"user": "Benutzer", "device": "Gerät", "ip": "Netz", "by": "durch", "change": "Änderung",
          "appointment": "Termin", "seat": "Platz"}


def read(client: Client) -> list[dict[str, Any]]:
    if client.session is None:
        raise ApiError(401, "Nicht angemeldet. Bitte zuerst `sprechzimmer login` ausführen.")
    box = client.session.keyring.box  # crypto_box_seed_keypair(org_box_seed), §8a.1
    entries = []
    for item in client.request("GET", "/api/v1/access-log", auth=True)["entries"]:
        try:
            entry: dict[str, Any] = json.loads(unseal(box, bytes.fromhex(item["sealed"])))
        except (CryptoError, ValueError):
            entry = {"kind": "unlesbar"}
        entries.append({"at": item["at"], **entry})
    return entries


def line(entry: dict[str, Any]) -> str:
    when = entry["at"].replace("T", " ")[:16]
    kind = KINDS.get(entry.get("kind", ""), entry.get("kind", ""))
    details = "  ".join(f"{LABELS.get(key, key)}: {value}" for key, value in entry.items()
                        if key not in ("at", "kind"))
    return f"{when}  {kind}  {details}".rstrip()
