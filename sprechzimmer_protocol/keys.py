"""Client-side key derivations (design/crypto.md §2.3, §4.4): password, master-password and device keys,
the master-password anchor and the pairing key and tags."""

from __future__ import annotations

from dataclasses import dataclass

from .codes import normalise_code
from .names import normalise_password
from .policy import (
    CODE_MEM,
    CODE_OPS,
    MASTER_MEM,
    MASTER_OPS,
    PASSWORD_MEM,
    PASSWORD_OPS,
    check_master_parameters,
    check_password_parameters,
)
from .primitives import PrivateKey, SigningKey, argon2, box_key, box_pk, h, kdf, sign_pk


@dataclass(frozen=True)
class PasswordKeys:
    signing: SigningKey  # k_pw: authentication only, the server stores pk_pw

    @property
    def pk(self) -> bytes:
        return sign_pk(self.signing)


@dataclass(frozen=True)
class MasterKeys:
    signing: SigningKey  # authorises recovery and approvals
    box: PrivateKey  # receives the "mp" keyring grant
    anchor_key: bytes  # MACs org_sign_pk (the anchor)

    @property
    def sign_pk(self) -> bytes:
        return sign_pk(self.signing)

    @property
    def box_pk(self) -> bytes:
        return box_pk(self.box)

    def anchor(self, org_id: str, org_sign_pk: bytes) -> bytes:
        return mp_anchor(self.anchor_key, org_id, org_sign_pk, self.sign_pk, self.box_pk)


@dataclass(frozen=True)
class DeviceKeys:
    signing: SigningKey  # login signatures, requests
    box: PrivateKey  # receives keyring grants

    @classmethod
    def from_seed(cls, seed: bytes) -> DeviceKeys:
        return cls(SigningKey(kdf(seed, "vdcdv_v1", 1)), box_key(kdf(seed, "vdcdv_v1", 2)))

    @property
    def sign_pk(self) -> bytes:
        return sign_pk(self.signing)

    @property
    def box_pk(self) -> bytes:
        return box_pk(self.box)


def password_keys(password: str, salt: bytes, ops: int = PASSWORD_OPS, mem: int = PASSWORD_MEM) -> PasswordKeys:
    """Raises policy.WeakParameters below the floor."""
    check_password_parameters(ops, mem)
    root = argon2(normalise_password(password), salt, ops, mem)
    return PasswordKeys(SigningKey(kdf(root, "vdcpw_v1", 1)))


def master_keys(master_password: str, salt: bytes, ops: int = MASTER_OPS, mem: int = MASTER_MEM) -> MasterKeys:
    """Raises policy.WeakParameters below the floor."""
    check_master_parameters(ops, mem)
    root = argon2(normalise_password(master_password), salt, ops, mem)
    return MasterKeys(SigningKey(kdf(root, "vdcmp_v1", 1)), box_key(kdf(root, "vdcmp_v1", 2)), kdf(root, "vdcmp_v1", 3))


def mp_anchor(k_anchor: bytes, org_id: str, org_sign_pk: bytes, mp_sign_pk: bytes, mp_box_pk: bytes) -> bytes:
    return h("vdc/v1/mp-anchor", org_id, org_sign_pk, mp_sign_pk, mp_box_pk, key=k_anchor)


def pairing_key(code: str, org_id: str, device_id: str) -> bytes:
    """Argon2id of the pairing code, salted per device (§4.4). Raises ValueError for a malformed code."""
    salt = h("vdc/v1/pair-salt", org_id, device_id)[:16]
    return argon2(normalise_code(code).encode(), salt, CODE_OPS, CODE_MEM)


def pairing_tag_new_device(k_pair: bytes, org_id: str, device_id: str, name: str, dev_sign_pk: bytes,
                           dev_box_pk: bytes) -> bytes:
    return h("vdc/v1/pair-new-device", org_id, device_id, name, dev_sign_pk, dev_box_pk, key=k_pair)


def pairing_tag_approver(k_pair: bytes, org_id: str, device_id: str, org_sign_pk: bytes) -> bytes:
    return h("vdc/v1/pair-approver", org_id, device_id, org_sign_pk, key=k_pair)
