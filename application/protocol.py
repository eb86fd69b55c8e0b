"""The signed messages of the protocol beyond login and registration (design/crypto.md §4.4–4.8): what
devices, users and the master password sign. The server verifies and the SDK signs the same bytes; every
message starts with its versioned domain label and carries the organisation, and where a server nonce is
involved, that nonce. Pure byte layout (no cryptography), so the use cases own it."""

from __future__ import annotations

import struct
import uuid

Field = str | bytes | int | uuid.UUID


def lp(*fields: Field) -> bytes:
    """Length-prefixed encoding (design/crypto.md §2.2): u32be(len) ‖ bytes per field; str as UTF-8, int as
    u64be. Unambiguous in every language, so signed messages need no JSON canonicalisation."""
    out = bytearray()
    for f in fields:
        if isinstance(f, uuid.UUID):
            f = str(f)
        if isinstance(f, str):
            b = f.encode()
        elif isinstance(f, bool):
            raise TypeError("booleans are not encoded")
        elif isinstance(f, int):
            b = struct.pack(">Q", f)
        else:
            b = bytes(f)
        out += struct.pack(">I", len(b)) + b
    return bytes(out)


def enroll(org: str, user: str, device_id: str, name: str, dev_sign_pk: bytes, dev_box_pk: bytes, nonce: bytes,
           origin: str) -> bytes:
    return lp("vdc/v1/enroll", org, user, device_id, name, dev_sign_pk, dev_box_pk, nonce, origin)


def enroll_tag(org_id: str, device_id: str, tag: bytes) -> bytes:
    return lp("vdc/v1/enroll-tag", org_id, device_id, tag)


def enroll_status(org: str, user: str, device_id: str, nonce: bytes, origin: str) -> bytes:
    return lp("vdc/v1/enroll-status", org, user, device_id, nonce, origin)


def sensitive(org_id: str, device_id: str, action: str, target: str, nonce: bytes, origin: str) -> bytes:
    """The fresh device signature every sensitive action needs (§4.2): bound to the action and its target."""
    return lp("vdc/v1/sensitive", org_id, device_id, action, target, nonce, origin)


def password_change(org_id: str, user: str, new_salt: bytes, new_pk: bytes, nonce: bytes) -> bytes:
    return lp("vdc/v1/pw-change", org_id, user, new_salt, new_pk, nonce)


def password_set(org_id: str, user: str, role: str, salt: bytes, ops: int, mem: int, pk_pw: bytes,
                 nonce: bytes) -> bytes:
    """Proof of possession of a new password key (new user, admin reset, recovery reset)."""
    return lp("vdc/v1/pw-set", org_id, user, role, salt, ops, mem, pk_pw, nonce)


def master_change(org_id: str, salt: bytes, ops: int, mem: int, sign_pk: bytes, box_pk: bytes, anchor: bytes,
                  nonce: bytes) -> bytes:
    return lp("vdc/v1/mp-change", org_id, salt, ops, mem, sign_pk, box_pk, anchor, nonce)


def master_keys_cert(org_id: str, mp_sign_pk: bytes, mp_box_pk: bytes) -> bytes:
    """The org key vouches for the master-password public keys, so a device that rotates the keyring
    (§4.8) grants to the genuine mp_box_pk and never to a key the server slipped in."""
    return lp("vdc/v1/mp-keys", org_id, mp_sign_pk, mp_box_pk)


def recovery(org: str, device_id: str, name: str, dev_sign_pk: bytes, dev_box_pk: bytes, nonce: bytes,
             origin: str) -> bytes:
    return lp("vdc/v1/recovery", org, device_id, name, dev_sign_pk, dev_box_pk, nonce, origin)


def revocation(org_id: str, device_id: str, revoked_at: str) -> bytes:
    return lp("vdc/v1/device-revoke", org_id, device_id, revoked_at)


def invite_redeem(org: str, user: str, device_id: str, name: str, dev_sign_pk: bytes, dev_box_pk: bytes,
                  salt: bytes, ops: int, mem: int, pk_pw: bytes, token: bytes, nonce: bytes, origin: str) -> bytes:
    return lp("vdc/v1/invite-redeem", org, user, device_id, name, dev_sign_pk, dev_box_pk, salt, ops, mem, pk_pw,
              token, nonce, origin)
