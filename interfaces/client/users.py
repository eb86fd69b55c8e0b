"""Client side of Benutzer, password and master-password change, invites and Stammdaten
(design/crypto.md §4.5–4.6). Passwords are typed here and never sent: only salts, public keys, signatures
and org-signed certificates leave this machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application import protocol as t
from domain import values
from domain.base import short_name_key
from infrastructure import crypto as c
from interfaces.client.devices import (
    enroll_record,
    logged_in,
    new_device,
    password_challenge,
    proof,
    send_pairing_tag,
)
from interfaces.client.sdk import ApiError, Client, TamperingDetected, master_password_problem

MSG_OLD_MASTER = "Das bisherige Masterpasswort ist falsch."


@dataclass(frozen=True)
class NewPassword:
    salt: bytes
    keys: c.PasswordKeys

    @property
    def pk(self) -> bytes:
        return self.keys.signing.verify_key.encode()

    def body(self) -> dict[str, Any]:
        return {"salt": self.salt.hex(), "ops": c.PASSWORD_OPS, "mem": c.PASSWORD_MEM, "pk_pw": self.pk.hex()}


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def new_password(password: str, field: str = "password") -> NewPassword:
    """The 8–32 rule is checked here, before anything is derived or sent."""
    if problem := values.password_problem(password):
        raise ApiError(400, problem, {field: [problem]})
    salt = c.random_bytes(c.SALT_BYTES)
    return NewPassword(salt, c.password_keys(password, salt))


def user_cert(client: Client, user_key: str, role: str, pw: NewPassword | dict[str, Any]) -> str:
    session = logged_in(client)
    if isinstance(pw, NewPassword):
        salt, ops, mem, pk = pw.salt, c.PASSWORD_OPS, c.PASSWORD_MEM, pw.pk
    else:
        salt, ops, mem, pk = _b(pw["pw_salt"]), int(pw["pw_ops"]), int(pw["pw_mem"]), _b(pw["pk_pw"])
    message = c.user_cert_message(session.org_id, user_key, role, salt, ops, mem, pk)
    return c.sign(session.keyring.signing, message).hex()


def list_users(client: Client) -> list[dict[str, Any]]:
    return list(client.request("GET", "/api/v1/users", auth=True)["users"])


def _possession(client: Client, user_key: str, role: str, pw: NewPassword, nonce: bytes) -> str:
    message = t.password_set(logged_in(client).org_id, user_key, role, pw.salt, c.PASSWORD_OPS, c.PASSWORD_MEM,
                             pw.pk, nonce)
    return c.sign(pw.keys.signing, message).hex()


def add_user(client: Client, user_short: str, role: str, password: str) -> None:
    """§4.5 in person: the employee types their own password into this dialog."""
    key = short_name_key(user_short)
    pw = new_password(password)
    sent, nonce, _ = proof(client, "user-add", key)
    client.request("POST", "/api/v1/users", {
        "user_short": user_short, "role": role, "password": pw.body(), "cert": user_cert(client, key, role, pw),
        "sig_new": _possession(client, key, role, pw, nonce), "proof": sent}, auth=True)


def reset_password(client: Client, user_short: str, new: str) -> None:
    """A forgotten staff password, in person: the employee types the new one on the admin's device."""
    key = short_name_key(user_short)
    target = next((u for u in list_users(client) if short_name_key(u["user_short"]) == key), None)
    if target is None:
        raise ApiError(404, "Diesen Benutzer gibt es in dieser Organisation nicht.")
    pw = new_password(new)
    sent, nonce, _ = proof(client, "user-password-reset", key)
    client.request("POST", f"/api/v1/users/{user_short}/password", {
        "password": pw.body(), "cert": user_cert(client, key, target["role"], pw),
        "sig_new": _possession(client, key, target["role"], pw, nonce), "proof": sent}, auth=True)


def set_active(client: Client, user_short: str, active: bool) -> None:
    action = "reactivate" if active else "deactivate"
    sent, _, _ = proof(client, "user-" + action, short_name_key(user_short))
    client.request("POST", f"/api/v1/users/{user_short}/{action}", {"proof": sent}, auth=True)


def set_role(client: Client, user_short: str, role: str) -> None:
    """admin or staff: a new user certificate with the new role, signed by the organisation key."""
    key = short_name_key(user_short)
    target = next((u for u in list_users(client) if short_name_key(u["user_short"]) == key), None)
    if target is None:
        raise ApiError(404, "Diesen Benutzer gibt es in dieser Organisation nicht.")
    sent, _, _ = proof(client, "user-role", key)
    client.request("POST", f"/api/v1/users/{user_short}/role",
                   {"role": role, "cert": user_cert(client, key, role, target), "proof": sent}, auth=True)


def certify_pending(client: Client) -> int:
    """Signs the certificate of users who chose their password through an invite (§4.5). Admins only."""
    if logged_in(client).role != "admin":
        return 0
    done = 0
    for user in list_users(client):
        if user["certified"] or not user["active"]:
            continue
        key = short_name_key(user["user_short"])
        sent, _, _ = proof(client, "user-certify", key)
        client.request("POST", f"/api/v1/users/{user['user_short']}/certificate",
                       {"cert": user_cert(client, key, user["role"], user), "proof": sent}, auth=True)
        done += 1
    return done


def invite(client: Client, user_short: str, role: str = "staff") -> str:
    """A one-time invite code (72 h) for a new user, or a password reset for an existing one. The server
    receives only a token derived from it; the admin passes the code on (e.g. by phone)."""
    code = c.new_code()
    sent, _, _ = proof(client, "user-invite", short_name_key(user_short))
    client.request("POST", "/api/v1/invites", {"user_short": user_short, "role": role,
                                               "token": c.invite_token(code).hex(), "proof": sent}, auth=True)
    return code


def redeem_invite(client: Client, org: str, user: str, code: str, password: str, device_name: str) -> str:
    """On the employee's new device: choose the password and enrol this device. Returns the pairing code
    for the admin to type when approving the device."""
    pw = new_password(password)
    try:
        token = c.invite_token(code)
    except ValueError:
        raise ApiError(400, "Der Einladungscode hat 12 Zeichen (XXXX-XXXX-XXXX).") from None
    seed, device, device_id = new_device()
    pairing_code = c.new_code()
    challenge = password_challenge(client, org, user, device_id)
    sign_pk, box_pk = device.signing.verify_key.encode(), bytes(device.box.public_key)
    message = t.invite_redeem(org, user, device_id, device_name, sign_pk, box_pk, pw.salt, c.PASSWORD_OPS,
                              c.PASSWORD_MEM, pw.pk, token, _b(challenge["nonce"]), client.origin)
    result = client.request("POST", "/api/v1/invites/redeem", {
        "challenge_id": challenge["challenge_id"], "token": token.hex(), "name": device_name,
        "dev_sign_pk": sign_pk.hex(), "dev_box_pk": box_pk.hex(), "password": pw.body(),
        "sig_pw": c.sign(pw.keys.signing, message).hex(), "sig_dev": c.sign(device.signing, message).hex()})
    org_id = str(result["org_id"])
    send_pairing_tag(client, org, org_id, device_id, device_name, device, pairing_code)
    enroll_record(client, org, org_id, device_id, device_name, seed, pairing_code)
    return pairing_code


def change_password(client: Client, old: str, new: str) -> int:
    """§4.6: signed with the old and the new key over a fresh nonce, plus a new org-signed certificate.
    Returns how many other sessions of this user were ended."""
    session = logged_in(client)
    key = short_name_key(session.user_short)
    pw = new_password(new, "new_password")
    sent, nonce, challenge = proof(client, "password-change", key)
    kdf = challenge["kdf"]
    if kdf["ops"] < c.PASSWORD_OPS or kdf["mem"] < c.PASSWORD_MEM:
        raise TamperingDetected("Der Server verlangt zu schwache Parameter für die Schlüsselableitung.")
    old_keys = c.password_keys(old, _b(challenge["salt"]), kdf["ops"], kdf["mem"])
    message = t.password_change(session.org_id, key, pw.salt, pw.pk, nonce)
    result = client.request("POST", "/api/v1/password", {
        "password": pw.body(), "cert": user_cert(client, key, session.role, pw),
        "sig_old": c.sign(old_keys.signing, message).hex(), "sig_new": c.sign(pw.keys.signing, message).hex(),
        "proof": sent}, auth=True)
    return int(result["other_sessions_ended"])


def change_master(client: Client, old: str, new: str) -> int:
    """§4.6: the current master password is checked here against the anchor over the pinned org key,
    then a new salt, keys, anchor and mp grant are sent with proofs of both master keys."""
    if problem := master_password_problem(new, ""):
        raise ApiError(400, problem, {"new_master_password": [problem]})
    session = logged_in(client)
    keyring = session.keyring
    params = client.request("GET", "/api/v1/masterpassword", auth=True)
    if params["ops"] < c.MASTER_OPS or params["mem"] < c.MASTER_MEM:
        raise TamperingDetected("Der Server verlangt zu schwache Parameter für die Schlüsselableitung.")
    current = c.master_keys(old, _b(params["salt"]), params["ops"], params["mem"])
    current_sign_pk, current_box_pk = current.signing.verify_key.encode(), bytes(current.box.public_key)
    anchor = c.mp_anchor(current.anchor_key, session.org_id, keyring.sign_pk, current_sign_pk, current_box_pk)
    if current_sign_pk.hex() != params["sign_pk"] or anchor.hex() != params["anchor"]:
        raise ApiError(400, MSG_OLD_MASTER, {"old_master_password": [MSG_OLD_MASTER]})
    salt = c.random_bytes(c.SALT_BYTES)
    fresh = c.master_keys(new, salt)
    sign_pk, box_pk = fresh.signing.verify_key.encode(), bytes(fresh.box.public_key)
    new_anchor = c.mp_anchor(fresh.anchor_key, session.org_id, keyring.sign_pk, sign_pk, box_pk)
    sent, nonce, _ = proof(client, "master-change", session.org_id)
    message = t.master_change(session.org_id, salt, c.MASTER_OPS, c.MASTER_MEM, sign_pk, box_pk, new_anchor, nonce)
    result = client.request("POST", "/api/v1/masterpassword", {
        "master": {"salt": salt.hex(), "ops": c.MASTER_OPS, "mem": c.MASTER_MEM, "sign_pk": sign_pk.hex(),
                   "box_pk": box_pk.hex(), "anchor": new_anchor.hex(),
                   "cert": c.sign(keyring.signing, t.master_keys_cert(session.org_id, sign_pk, box_pk)).hex()},
        "mp_grant": keyring.grant("mp", box_pk),
        "sig_old": c.sign(current.signing, message).hex(), "sig_new": c.sign(fresh.signing, message).hex(),
        "proof": sent}, auth=True)
    return int(result["other_sessions_ended"])


def stammdaten(client: Client) -> dict[str, Any]:
    data: dict[str, Any] = client.request("GET", "/api/v1/stammdaten", auth=True)
    return data


def update_stammdaten(client: Client, organisation: dict[str, Any], address: dict[str, Any],
                      main_user: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = client.request("PUT", "/api/v1/stammdaten", {
        "organisation": organisation, "address": address, "main_user": main_user}, auth=True)
    return data
