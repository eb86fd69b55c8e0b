"""Typed values that travel besides grants (design/crypto.md §2.3, §4): password verifiers, user and device
certificates, the master-password keys and the bank mandate. Frozen; `to_wire()`/`from_wire()` give and
read the JSON shape of the API (bytes as lowercase hex)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import layouts
from .encoding import unhex
from .keyring import Keyring
from .primitives import sign, verify


@dataclass(frozen=True)
class PasswordVerifier:
    """What the server stores of a password: Argon2id parameters and pk_pw (never the password)."""

    salt: bytes
    ops: int
    mem: int
    pk_pw: bytes

    def to_wire(self) -> dict[str, Any]:
        return {"salt": self.salt.hex(), "ops": self.ops, "mem": self.mem, "pk_pw": self.pk_pw.hex()}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> PasswordVerifier:
        """Reads both the request shape (salt/ops/mem) and the user listing's (pw_salt/pw_ops/pw_mem)."""
        if "pw_salt" in wire:
            return cls(unhex(wire["pw_salt"]), int(wire["pw_ops"]), int(wire["pw_mem"]), unhex(wire["pk_pw"]))
        return cls(unhex(wire["salt"]), int(wire["ops"]), int(wire["mem"]), unhex(wire["pk_pw"]))


@dataclass(frozen=True)
class UserCertificate:
    """The org vouches for a user's password key and role (§4.5): a server cannot add a user or raise a role."""

    org_id: str
    user_key: str
    role: str
    verifier: PasswordVerifier
    sig: bytes = b""

    def message(self) -> bytes:
        v = self.verifier
        return layouts.user_cert(self.org_id, self.user_key, self.role, v.salt, v.ops, v.mem, v.pk_pw)

    def signed(self, keyring: Keyring) -> UserCertificate:
        return UserCertificate(self.org_id, self.user_key, self.role, self.verifier,
                               sign(keyring.signing, self.message()))

    def verifies(self, org_sign_pk: bytes) -> bool:
        return verify(org_sign_pk, self.message(), self.sig)

    def to_wire(self) -> dict[str, Any]:
        return {"user_key": self.user_key, "role": self.role, "password": self.verifier.to_wire(),
                "cert": self.sig.hex()}

    @classmethod
    def from_wire(cls, org_id: str, wire: dict[str, Any]) -> UserCertificate:
        return cls(org_id, str(wire["user_key"]), str(wire["role"]), PasswordVerifier.from_wire(wire["password"]),
                   unhex(wire.get("cert") or ""))


@dataclass(frozen=True)
class DeviceCertificate:
    """The org vouches for a device's keys and name (§4.4): only certified devices receive grants."""

    org_id: str
    device_id: str
    name: str
    dev_sign_pk: bytes
    dev_box_pk: bytes
    approved_at: str
    approver: str
    sig: bytes = b""

    def message(self) -> bytes:
        return layouts.device_cert(self.org_id, self.device_id, self.name, self.dev_sign_pk, self.dev_box_pk,
                                   self.approved_at, self.approver)

    def signed(self, keyring: Keyring) -> DeviceCertificate:
        return DeviceCertificate(self.org_id, self.device_id, self.name, self.dev_sign_pk, self.dev_box_pk,
                                 self.approved_at, self.approver, sign(keyring.signing, self.message()))

    def verifies(self, org_sign_pk: bytes) -> bool:
        return verify(org_sign_pk, self.message(), self.sig)

    def to_wire(self) -> dict[str, Any]:
        """The shape of the device listing (GET /api/v1/devices)."""
        return {"device_id": self.device_id, "name": self.name, "dev_sign_pk": self.dev_sign_pk.hex(),
                "dev_box_pk": self.dev_box_pk.hex(), "approved_at": self.approved_at, "approver": self.approver,
                "cert": self.sig.hex()}

    @classmethod
    def from_wire(cls, org_id: str, wire: dict[str, Any]) -> DeviceCertificate:
        return cls(org_id, str(wire["device_id"]), str(wire["name"]), unhex(wire["dev_sign_pk"]),
                   unhex(wire["dev_box_pk"]), str(wire.get("approved_at") or ""), str(wire.get("approver") or ""),
                   unhex(wire.get("cert") or ""))


@dataclass(frozen=True)
class MasterKeyParams:
    """The public side of the master password (§2.3): Argon2id parameters, its two public keys, the anchor
    over org_sign_pk and the org's certificate of the keys (§4.8)."""

    salt: bytes
    ops: int
    mem: int
    sign_pk: bytes
    box_pk: bytes
    anchor: bytes
    cert: bytes = b""

    def cert_message(self, org_id: str) -> bytes:
        return layouts.master_keys_cert(org_id, self.sign_pk, self.box_pk)

    def certified(self, keyring: Keyring) -> MasterKeyParams:
        return MasterKeyParams(self.salt, self.ops, self.mem, self.sign_pk, self.box_pk, self.anchor,
                               sign(keyring.signing, self.cert_message(keyring.org_id)))

    def cert_verifies(self, org_id: str, org_sign_pk: bytes) -> bool:
        return bool(self.cert) and verify(org_sign_pk, self.cert_message(org_id), self.cert)

    def to_wire(self) -> dict[str, Any]:
        return {"salt": self.salt.hex(), "ops": self.ops, "mem": self.mem, "sign_pk": self.sign_pk.hex(),
                "box_pk": self.box_pk.hex(), "anchor": self.anchor.hex(), "cert": self.cert.hex()}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> MasterKeyParams:
        return cls(unhex(wire["salt"]), int(wire["ops"]), int(wire["mem"]), unhex(wire["sign_pk"]),
                   unhex(wire["box_pk"]), unhex(wire["anchor"]), unhex(wire.get("cert") or ""))


@dataclass(frozen=True)
class BankMandate:
    """The SEPA direct-debit mandate a practice gives for plan plus (the server validates IBAN/BIC)."""

    account_holder: str
    iban: str
    bic: str
    sepa_mandate: bool

    def to_wire(self) -> dict[str, Any]:
        return {"account_holder": self.account_holder, "iban": self.iban, "bic": self.bic,
                "sepa_mandate": self.sepa_mandate}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> BankMandate:
        return cls(str(wire["account_holder"]), str(wire["iban"]), str(wire["bic"]), bool(wire["sepa_mandate"]))
