"""Client side of Benutzer, password and master-password change, invites and Stammdaten
(design/crypto.md §4.5–4.6). Passwords are typed here and never sent: only salts, public keys, signatures
and org-signed certificates leave this machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sprechzimmer_protocol import codes, invites, names, policy
from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import primitives as p
from sprechzimmer_protocol.keys import PasswordKeys, master_keys, password_keys
from sprechzimmer_protocol.names import short_name_key
from sprechzimmer_protocol.values import MasterKeyParams, PasswordVerifier, UserCertificate

from .devices import (
    enroll_record,
    logged_in,
    new_device,
    password_challenge,
    proof,
    send_pairing_tag,
)
from .sdk import ApiError, Client, TamperingDetected, master_password_problem

MSG_OLD_MASTER = "Das bisherige Masterpasswort ist falsch."
MSG_INVITE_PROOF = ("Sicherheitswarnung: Das Passwort von {user} passt nicht zum Einladungscode – es wurde "
                    "womöglich auf dem Server ausgetauscht. Es wird nichts bestätigt. Bitte eine neue Einladung "
                    "ausstellen.")
MSG_INVITE_ELSEWHERE = ("Die Einladung dieses Benutzers wurde an einem anderen Gerät ausgestellt. Bitte das neue "
                        "Gerät dort freigeben, damit dessen Passwort geprüft und bestätigt werden kann.")


@dataclass(frozen=True)
class NewPassword:
    salt: bytes
    keys: PasswordKeys

    @property
    def pk(self) -> bytes:
        return self.keys.pk

    @property
    def verifier(self) -> PasswordVerifier:
        return PasswordVerifier(self.salt, policy.PASSWORD_OPS, policy.PASSWORD_MEM, self.pk)

    def body(self) -> dict[str, Any]:
        return self.verifier.to_wire()


def _b(value: str) -> bytes:
    return bytes.fromhex(value)


def new_password(password: str, field: str = "password") -> NewPassword:
    """The 8–32 rule is checked here, before anything is derived or sent."""
    if problem := names.password_problem(password):
        raise ApiError(400, problem, {field: [problem]})
    salt = p.random_bytes(policy.SALT_BYTES)
    return NewPassword(salt, password_keys(password, salt))


def user_cert(client: Client, user_key: str, role: str, pw: NewPassword | PasswordVerifier | dict[str, Any]) -> str:
    session = logged_in(client)
    if isinstance(pw, NewPassword):
        verifier = pw.verifier
    else:
        verifier = pw if isinstance(pw, PasswordVerifier) else PasswordVerifier.from_wire(pw)
    return UserCertificate(session.org_id, user_key, role, verifier).signed(session.keyring).sig.hex()


def _short_name(user_short: str) -> str:
    """The server's rule (§8a.2), checked before anything is derived or sent; returns the key."""
    if not names.is_short_name(user_short):
        raise ApiError(400, names.MSG_SHORT_NAME, {"user_short": [names.MSG_SHORT_NAME]})
    return short_name_key(user_short)


def list_users(client: Client) -> list[dict[str, Any]]:
    return list(client.request("GET", "/api/v1/users", auth=True)["users"])


def _possession(client: Client, user_key: str, role: str, pw: NewPassword, nonce: bytes) -> str:
    v = pw.verifier
    message = t.password_set(logged_in(client).org_id, user_key, role, v.salt, v.ops, v.mem, v.pk_pw, nonce)
    return p.sign(pw.keys.signing, message).hex()


def add_user(client: Client, user_short: str, role: str, password: str) -> None:
    """§4.5 in person: the employee types their own password into this dialog."""
    key = _short_name(user_short)
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


def certificates_to_sign(client: Client) -> list[tuple[str, str]]:
    """(user_short, certificate) for every active user waiting for certification whose invite this device
    issued (§8a.10). Each invite proof is checked first: one that does not verify means the server (or
    someone on the way) swapped the password key, and nothing is signed at all."""
    session = logged_in(client)
    if session.role != "admin":
        return []
    out = []
    for user in list_users(client):
        if user["certified"] or not user["active"]:
            continue
        key = short_name_key(user["user_short"])
        secret = client.store.invite_secret(client.origin, session.org_id, key)
        if secret is None:  # issued on another device: only that one can check the proof
            continue
        try:
            verifier = PasswordVerifier.from_wire(user)
            proven = invites.check_invite_proof(secret, session.org_id, key, verifier.pk_pw,
                                                _b(str(user.get("invite_proof") or "")))
        except (KeyError, ValueError, TypeError):
            proven = False
        if not proven:
            raise TamperingDetected(MSG_INVITE_PROOF.format(user=user["user_short"]))
        out.append((str(user["user_short"]), user_cert(client, key, user["role"], verifier)))
    return out


def send_certificates(client: Client, certificates: list[tuple[str, str]]) -> int:
    session = logged_in(client)
    for user_short, cert in certificates:
        key = short_name_key(user_short)
        sent, _, _ = proof(client, "user-certify", key)
        client.request("POST", f"/api/v1/users/{user_short}/certificate", {"cert": cert, "proof": sent}, auth=True)
        client.store.forget_invite_secret(client.origin, session.org_id, key)
    return len(certificates)


def certify_pending(client: Client) -> int:
    """Signs the certificate of users who chose their password through an invite this device issued
    (§4.5, §8a.10), after checking their invite proofs. Admins only."""
    return send_certificates(client, certificates_to_sign(client))


def invite(client: Client, user_short: str, role: str = "staff") -> str:
    """A one-time invite code (72 h) for a new user, or a password reset for an existing one. The server
    receives only a token derived from it; the admin passes the code on (e.g. by phone)."""
    key = _short_name(user_short)
    code = codes.new_code()
    secret = invites.invite_secret(code)
    sent, _, _ = proof(client, "user-invite", key)
    client.request("POST", "/api/v1/invites", {
        "user_short": user_short, "role": role, "token": invites.invite_token_from_secret(secret).hex(),
        "proof": sent}, auth=True)
    # Kept on this device only, to check the employee's proof before certifying their password (§8a.10).
    client.store.save_invite_secret(client.origin, logged_in(client).org_id, key, secret)
    return code


def redeem_invite(client: Client, org: str, user: str, code: str, password: str, device_name: str) -> str:
    """On the employee's new device: choose the password and enrol this device. Returns the pairing code
    for the admin to type when approving the device."""
    pw = new_password(password)
    try:
        secret = invites.invite_secret(code)
    except ValueError:
        raise ApiError(400, "Der Einladungscode hat 12 Zeichen (XXXX-XXXX-XXXX).") from None
    token = invites.invite_token_from_secret(secret)
    seed, device, device_id = new_device()
    pairing_code = codes.new_code()
    client.store.unlock(password)
    challenge = password_challenge(client, org, user, device_id)
    sign_pk, box_pk = device.signing.verify_key.encode(), bytes(device.box.public_key)
    message = t.invite_redeem(org, user, device_id, device_name, sign_pk, box_pk, pw.salt, policy.PASSWORD_OPS,
                              policy.PASSWORD_MEM, pw.pk, token, _b(challenge["nonce"]), client.origin)
    result = client.request("POST", "/api/v1/invites/redeem", {
        "challenge_id": challenge["challenge_id"], "token": token.hex(), "name": device_name,
        "dev_sign_pk": sign_pk.hex(), "dev_box_pk": box_pk.hex(), "password": pw.body(),
        "sig_pw": p.sign(pw.keys.signing, message).hex(), "sig_dev": p.sign(device.signing, message).hex()})
    org_id = str(result["org_id"])
    invite_proof = invites.invite_proof(secret, org_id, short_name_key(user), pw.pk)
    send_pairing_tag(client, org, org_id, device_id, device_name, device, pairing_code, invite_proof)
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
    try:
        policy.check_password_parameters(kdf["ops"], kdf["mem"])
    except policy.WeakParameters as weak:
        raise TamperingDetected(str(weak)) from None
    old_keys = password_keys(old, _b(challenge["salt"]), kdf["ops"], kdf["mem"])
    message = t.password_change(session.org_id, key, pw.salt, pw.pk, nonce)
    result = client.request("POST", "/api/v1/password", {
        "password": pw.body(), "cert": user_cert(client, key, session.role, pw),
        "sig_old": p.sign(old_keys.signing, message).hex(), "sig_new": p.sign(pw.keys.signing, message).hex(),
        "proof": sent}, auth=True)
    client.store.rewrap(new)  # a seed wrapped under the old login password now opens with the new one
    return int(result["other_sessions_ended"])


def change_master(client: Client, old: str, new: str) -> int:
    """§4.6: the current master password is checked here against the anchor over the pinned org key,
    then a new salt, keys, anchor and mp grant are sent with proofs of both master keys."""
    if problem := master_password_problem(new, ""):
        raise ApiError(400, problem, {"new_master_password": [problem]})
    session = logged_in(client)
    keyring = session.keyring
    params = client.request("GET", "/api/v1/masterpassword", auth=True)
    try:
        policy.check_master_parameters(params["ops"], params["mem"])
    except policy.WeakParameters as weak:
        raise TamperingDetected(str(weak)) from None
    current = master_keys(old, _b(params["salt"]), params["ops"], params["mem"])
    if current.sign_pk.hex() != params["sign_pk"] or \
            current.anchor(session.org_id, keyring.sign_pk).hex() != params["anchor"]:
        raise ApiError(400, MSG_OLD_MASTER, {"old_master_password": [MSG_OLD_MASTER]})
    salt = p.random_bytes(policy.SALT_BYTES)
    fresh = master_keys(new, salt)
    master = MasterKeyParams(salt, policy.MASTER_OPS, policy.MASTER_MEM, fresh.sign_pk, fresh.box_pk,
                             fresh.anchor(session.org_id, keyring.sign_pk)).certified(keyring)
    sent, nonce, _ = proof(client, "master-change", session.org_id)
    message = t.master_change(session.org_id, salt, master.ops, master.mem, master.sign_pk, master.box_pk,
                              master.anchor, nonce)
    result = client.request("POST", "/api/v1/masterpassword", {
        "master": master.to_wire(),
        "mp_grant": keyring.grant("mp", master.box_pk).to_wire(),
        "sig_old": p.sign(current.signing, message).hex(), "sig_new": p.sign(fresh.signing, message).hex(),
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
