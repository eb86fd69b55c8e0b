"""Every signed or MACed message of the protocol (design/crypto.md §2.2, §4): what clients sign and the
server verifies, byte for byte. Each starts with its versioned domain label and carries the organisation
and, where a server nonce is involved, that nonce. Pure byte layout (standard library only)."""

from __future__ import annotations

from .encoding import lp


def registration(org_short: str, org_id: str, user_short: str, device_id: str, origin: str) -> bytes:
    return lp("vdc/v1/register", org_short, org_id, user_short, device_id, origin)


def login(org: str, user: str, device_id: str, nonce: bytes, origin: str) -> bytes:
    return lp("vdc/v1/login", org, user, device_id, nonce, origin)


def user_cert(org_id: str, user_key: str, role: str, pw_salt: bytes, ops: int, mem: int, pk_pw: bytes) -> bytes:
    return lp("vdc/v1/user-cert", org_id, user_key, role, pw_salt, ops, mem, pk_pw)


def device_cert(org_id: str, device_id: str, name: str, dev_sign_pk: bytes, dev_box_pk: bytes, approved_at: str,
                approver: str) -> bytes:
    return lp("vdc/v1/device-cert", org_id, device_id, name, dev_sign_pk, dev_box_pk, approved_at, approver)


def keyring_grant(org_id: str, recipient: str, version: int, sealed: bytes) -> bytes:
    return lp("vdc/v1/keyring-grant", org_id, recipient, version, sealed)


def keyring_head(org_id: str, version: int, rotated_at: str) -> bytes:
    """Signed by the org at every rotation, so a recovering device learns the latest version (§8a.11)."""
    return lp("vdc/v1/keyring-head", org_id, version, rotated_at)


def master_keys_cert(org_id: str, mp_sign_pk: bytes, mp_box_pk: bytes) -> bytes:
    """The org key vouches for the master-password public keys, so a device that rotates the keyring
    (§4.8) grants to the genuine mp_box_pk and never to a key the server slipped in."""
    return lp("vdc/v1/mp-keys", org_id, mp_sign_pk, mp_box_pk)


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


def recovery(org: str, device_id: str, name: str, dev_sign_pk: bytes, dev_box_pk: bytes, nonce: bytes,
             origin: str) -> bytes:
    return lp("vdc/v1/recovery", org, device_id, name, dev_sign_pk, dev_box_pk, nonce, origin)


def revocation(org_id: str, device_id: str, revoked_at: str) -> bytes:
    return lp("vdc/v1/device-revoke", org_id, device_id, revoked_at)


def invite_redeem(org: str, user: str, device_id: str, name: str, dev_sign_pk: bytes, dev_box_pk: bytes,
                  salt: bytes, ops: int, mem: int, pk_pw: bytes, token: bytes, nonce: bytes, origin: str) -> bytes:
    return lp("vdc/v1/invite-redeem", org, user, device_id, name, dev_sign_pk, dev_box_pk, salt, ops, mem, pk_pw,
              token, nonce, origin)


# --- associated data of the end-to-end encrypted record (§2.3) ------------------------------------


def dek_aad(org_id: str, appointment_id: str, version: int) -> bytes:
    return lp("vdc/v1/dek", org_id, appointment_id, version)


def record_aad(org_id: str, appointment_id: str, field: str, schema: int) -> bytes:
    return lp("vdc/v1/appt", org_id, appointment_id, field, schema)
