"""Registrierung: one organisation with its main user, first device and contract, atomically.

The client proves possession of every key it registers (design/crypto.md §4.1); the server checks the
four signatures, both certificates and both grants, and never receives a password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from application import access, legal
from application.errors import Conflict, Invalid
from application.services import Services
from domain.base import require_client_id, short_name_key
from domain.contract import Contract
from domain.device import Device
from domain.organisation import Organisation, OrganisationShortName
from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import policy

PASSWORD_FLOOR = (policy.PASSWORD_OPS, policy.PASSWORD_MEM)  # the floors every client enforces too
MASTER_FLOOR = (policy.MASTER_OPS, policy.MASTER_MEM)

MSG_CRYPTO = "Die kryptografischen Nachweise der Registrierung sind ungültig."
MSG_TAKEN = "Dieser Kurzname der Organisation ist bereits vergeben."
MSG_ORIGIN = "Unbekannte Herkunft (origin) der Anfrage."
# Each registration creates a key in the keystore and an organisation: per address and per network
# (/24, /56) an hour, generous for a practice setting itself up, far below a flood (160 in 25 s were seen).
WINDOW, PER_ADDRESS, PER_NETWORK = 3600.0, 10, 30


@dataclass(frozen=True)
class Registered:
    org_id: UUID
    org_short: str
    user_short: str
    device_id: str
    plan: str
    mandate_reference: str | None
    position: int


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def _verify_crypto(services: Services, data: dict[str, Any]) -> None:
    """Raises Invalid unless every key is proven and every certificate and grant carries the org signature."""
    c = services.crypto
    k = data["crypto"]
    creds = data["credentials"]
    org_id = str(k["org_id"])
    if k["origin"] not in services.origins:
        raise Invalid(MSG_ORIGIN, "crypto.origin")
    user, master, device = k["user"], k["master"], k["device"]
    too_weak = (user["ops"] < PASSWORD_FLOOR[0] or user["mem"] < PASSWORD_FLOOR[1]
                or master["ops"] < MASTER_FLOOR[0] or master["mem"] < MASTER_FLOOR[1])
    if too_weak:
        raise Invalid("Die Parameter der Schlüsselableitung sind zu schwach.", "crypto")
    org_pk = _b(k["org_sign_pk"])
    transcript = t.registration(creds["org_short"], org_id, creds["user_short"], device["device_id"],
                                k["origin"])
    sigs = k["signatures"]
    proofs: list[tuple[bytes, str, bytes]] = [
        (org_pk, sigs["org"], transcript),
        (_b(master["sign_pk"]), sigs["master"], transcript),
        (_b(user["pk_pw"]), sigs["password"], transcript),
        (_b(device["sign_pk"]), sigs["device"], transcript),
        (org_pk, user["cert"], t.user_cert(org_id, short_name_key(creds["user_short"]), "admin",
                                           _b(user["salt"]), user["ops"], user["mem"], _b(user["pk_pw"]))),
        (org_pk, device["cert"], t.device_cert(org_id, device["device_id"], creds["device_name"],
                                               _b(device["sign_pk"]), _b(device["box_pk"]),
                                               device["approved_at"], "registration")),
        (org_pk, device["grant"]["sig"], t.keyring_grant(org_id, device["device_id"], 1,
                                                         _b(device["grant"]["sealed"]))),
        (org_pk, master["grant"]["sig"], t.keyring_grant(org_id, "mp", 1, _b(master["grant"]["sealed"]))),
    ]
    if master.get("cert"):
        proofs.append((org_pk, master["cert"], t.master_keys_cert(org_id, _b(master["sign_pk"]), _b(master["box_pk"]))))
    for public_key, signature, message in proofs:
        if not c.verify(public_key, message, _b(signature)):
            raise Invalid(MSG_CRYPTO, "crypto")


def register(services: Services, data: dict[str, Any], today: date | None = None, ip: str = "unknown") -> Registered:
    """`data` has passed the request schema; this checks the rules that need more than one field."""
    now = services.now()
    # The address first: its refused requests then do not use up its neighbours' allowance.
    access.rate_limit(services, "register-ip:" + access.client_address(ip), PER_ADDRESS, WINDOW, now)
    access.rate_limit(services, "register-network:" + access.ip_prefix(ip), PER_NETWORK, WINDOW, now)
    require_client_id(data["crypto"]["org_id"], "crypto.org_id")
    _verify_crypto(services, data)
    k, creds = data["crypto"], data["credentials"]
    org_id: UUID = k["org_id"]
    plan = data["plan"]
    today = today or services.today()
    bank = None
    if plan == "plus":
        billing = data.get("billing")
        if not billing:
            raise Invalid("Für den Tarif plus sind Rechnungsdaten erforderlich.", "billing")
        bank = {
            "holder": billing["account_holder"], "iban": billing["iban"], "bic": billing["bic"],
            "mandate_reference": Contract.mandate_reference(org_id), "mandate_signed_on": today.isoformat(),
        }
    elif data.get("billing"):
        raise Invalid("Im Tarif basis werden keine Rechnungsdaten gespeichert.", "billing")

    accepted = legal.check_versions(services, data["confirmations"].get("versions"), "confirmations.versions")
    user, master, device = k["user"], k["master"], k["device"]
    profile = {
        "organisation": data["organisation"], "address": data["address"], "main_user": data["main_user"],
        # Which versions of Nutzungsbedingungen and AVV were accepted: a newer one is asked for at login.
        "confirmations": {"avv_accepted_on": today.isoformat(), "credentials_noted": True, "accepted": accepted},
    }
    claim = OrganisationShortName.claim(org_id, creds["org_short"])
    organisation = Organisation.register(
        org_id=org_id, short_name=creds["org_short"], profile=profile,
        org_sign_pk=k["org_sign_pk"], org_box_pk=k["org_box_pk"],
        master={key: master.get(key) for key in ("salt", "ops", "mem", "sign_pk", "box_pk", "anchor", "cert")},
        mp_grant={"version": 1, **master["grant"]},
        main_user={"short_name": creds["user_short"].strip(), "role": "admin", "pw_salt": user["salt"],
                   "pw_ops": user["ops"], "pw_mem": user["mem"], "pk_pw": user["pk_pw"], "cert": user["cert"]},
    )
    first_device = Device.register_first(
        org_id=org_id, device_id=device["device_id"], name=creds["device_name"], dev_sign_pk=device["sign_pk"],
        dev_box_pk=device["box_pk"], cert=device["cert"], approved_at=device["approved_at"],
        requested_by=short_name_key(creds["user_short"]), grant={"version": 1, **device["grant"]},
    )
    contract = Contract.conclude(org_id, plan, today.isoformat(), bank)

    key_existed = services.keystore.exists(org_id)
    services.keystore.create(org_id)
    try:
        position = services.commit(claim, organisation, first_device, contract)
    except Conflict:
        if not key_existed:
            services.keystore.destroy(org_id)
        raise Conflict(MSG_TAKEN, "credentials.org_short") from None
    return Registered(org_id, organisation.short_name, creds["user_short"].strip(), device["device_id"], plan,
                      bank["mandate_reference"] if bank else None, position)
