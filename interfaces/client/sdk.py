"""Python client SDK: the client side of design/crypto.md. Passwords and keys stay on this machine;
the server receives public keys, signatures, certificates and sealed grants only."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from nacl.public import PrivateKey
from nacl.signing import SigningKey
from zxcvbn import zxcvbn

from application.protocol import master_keys_cert
from domain import values
from domain.base import short_name_key
from infrastructure import crypto as c
from interfaces.client.keystore import DeviceRecord, LocalStore

MSG_NO_DEVICE = "Dieses Gerät ist für diese Organisation nicht eingerichtet."
MSG_SESSION_ENDED = "Die Sitzung ist abgelaufen oder wurde beendet. Bitte erneut anmelden: `sprechzimmer login`."
MSG_TAMPERED = "Die Antwort des Servers ist nicht vertrauenswürdig (Signatur ungültig). Vorgang abgebrochen."


class ApiError(Exception):
    """A problem+json answer of the server, or a client-side refusal with the same shape."""

    def __init__(self, status: int, detail: str, errors: dict[str, list[str]] | None = None,
                 retry_after: int | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or {}
        self.retry_after = retry_after

    def __str__(self) -> str:
        lines = [self.detail] + [f"  {field}: {' '.join(msgs)}" for field, msgs in self.errors.items()]
        return "\n".join(lines)


class TamperingDetected(Exception):
    """The server handed out keys or grants that the organisation never signed."""


@dataclass
class Keyring:
    version: int
    org_id: str
    org_sign_seed: bytes
    org_box_seed: bytes
    data_keys: dict[int, bytes]

    @classmethod
    def new(cls, org_id: str) -> Keyring:
        return cls(1, org_id, c.random_bytes(32), c.random_bytes(32), {1: c.random_bytes(32)})

    @property
    def signing(self) -> SigningKey:
        return SigningKey(self.org_sign_seed)

    @property
    def sign_pk(self) -> bytes:
        return self.signing.verify_key.encode()

    @property
    def box_pk(self) -> bytes:
        return bytes(PrivateKey(self.org_box_seed).public_key)

    def to_json(self) -> bytes:
        return json.dumps({"version": self.version, "org_id": self.org_id,
                           "org_sign_seed": self.org_sign_seed.hex(), "org_box_seed": self.org_box_seed.hex(),
                           "data_keys": {str(k): v.hex() for k, v in self.data_keys.items()}}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Keyring:
        d = json.loads(raw)
        return cls(int(d["version"]), d["org_id"], bytes.fromhex(d["org_sign_seed"]), bytes.fromhex(d["org_box_seed"]),
                   {int(k): bytes.fromhex(v) for k, v in d["data_keys"].items()})

    def grant(self, recipient: str, recipient_box_pk: bytes) -> dict[str, str]:
        sealed = c.seal(recipient_box_pk, self.to_json())
        sig = c.sign(self.signing, c.grant_message(self.org_id, recipient, self.version, sealed))
        return {"sealed": sealed.hex(), "sig": sig.hex()}


def open_grant(grant: dict[str, Any], org_id: str, recipient: str, pinned_org_sign_pk: bytes,
               box_key: PrivateKey, min_version: int) -> Keyring:
    """Verify before decrypting: the org signature, the pinned org key inside, and no rollback (§2.3)."""
    version = int(grant["version"])
    sealed = bytes.fromhex(grant["sealed"])
    if not c.verify(pinned_org_sign_pk, c.grant_message(org_id, recipient, version, sealed),
                    bytes.fromhex(grant["sig"])):
        raise TamperingDetected(MSG_TAMPERED)
    keyring = Keyring.from_json(c.unseal(box_key, sealed))
    if keyring.sign_pk != pinned_org_sign_pk or keyring.version != version or version < min_version:
        raise TamperingDetected(MSG_TAMPERED)
    return keyring


def master_password_problem(master_password: str, password: str) -> str | None:
    """Decision 1 of design/crypto.md §8: ≥ 12 characters or ≥ 4 words, and a strength check."""
    if master_password == password:
        return values.MSG_MASTER_SAME
    long_enough = c.password_length(master_password) >= values.MASTER_PASSWORD_MIN or \
        len(master_password.split()) >= 4
    if not long_enough or zxcvbn(master_password[:100])["score"] < 3:
        return values.MSG_MASTER_WEAK
    return None


@dataclass
class LoggedIn:
    token: str
    org_id: str
    org_short: str
    user_short: str
    role: str
    device_id: str
    keyring: Keyring


class Client:
    def __init__(self, base_url: str, store: LocalStore | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        self.origin = base_url.rstrip("/")
        self.store = store or LocalStore()
        self.http = httpx.Client(base_url=self.origin, timeout=timeout, transport=transport)
        self.session: LoggedIn | None = None

    def close(self) -> None:
        self.http.close()

    # --- transport ------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, auth: bool = False) -> Any:
        headers = {}
        if auth:
            token = self.session.token if self.session else (self.store.session() or {}).get("token")
            if not token:
                raise ApiError(401, "Nicht angemeldet. Bitte zuerst `sprechzimmer login` ausführen.")
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.request(method, path, json=body, headers=headers)
        if response.status_code == 401 and auth and self.session is None:
            # The token an earlier `login` saved is no longer known to the server (expired or ended elsewhere):
            # say so, rather than the login failure's "check your names and password".
            self.store.clear_session()
            raise ApiError(401, MSG_SESSION_ENDED)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text or response.reason_phrase}
            retry = response.headers.get("Retry-After")
            raise ApiError(response.status_code, problem.get("detail", ""), problem.get("errors"),
                           int(retry) if retry and retry.isdigit() else None)
        return response.json() if response.content else None

    # --- registration (design/crypto.md §4.1) ---------------------------------------------------

    def register(self, form: dict[str, Any], password: str, password_repeat: str, master_password: str,
                 master_password_repeat: str) -> dict[str, Any]:
        """`form` holds the API body without `crypto`; the passwords never leave this process."""
        errors: dict[str, list[str]] = {}
        if problem := values.password_problem(password):
            errors["password"] = [problem]
        elif password != password_repeat:
            errors["password_repeat"] = [values.MSG_PASSWORD_REPEAT]
        if problem := master_password_problem(master_password, password):
            errors["master_password"] = [problem]
        elif master_password != master_password_repeat:
            errors["master_password_repeat"] = [values.MSG_PASSWORD_REPEAT]
        if errors:
            raise ApiError(400, "Bitte die markierten Felder prüfen.", errors)

        creds = form["credentials"]
        org_id = str(uuid.uuid4())
        keyring = Keyring.new(org_id)
        device_seed = c.random_bytes(32)
        device = c.DeviceKeys.from_seed(device_seed)
        device_id = "dev-" + c.random_bytes(8).hex()
        pw_salt, mp_salt = c.random_bytes(c.SALT_BYTES), c.random_bytes(c.SALT_BYTES)
        pw = c.password_keys(password, pw_salt)
        mp = c.master_keys(master_password, mp_salt)
        pk_pw = pw.signing.verify_key.encode()
        mp_sign_pk, mp_box_pk = mp.signing.verify_key.encode(), bytes(mp.box.public_key)
        dev_sign_pk, dev_box_pk = device.signing.verify_key.encode(), bytes(device.box.public_key)
        approved_at = datetime.now(UTC).isoformat(timespec="seconds")
        user_key = short_name_key(str(creds["user_short"]))
        device_name = str(creds["device_name"])

        transcript = c.registration_transcript(str(creds["org_short"]).strip(), org_id,
                                               str(creds["user_short"]).strip(), device_id, self.origin)
        body = dict(form)
        body["crypto"] = {
            "org_id": org_id,
            "origin": self.origin,
            "org_sign_pk": keyring.sign_pk.hex(),
            "org_box_pk": keyring.box_pk.hex(),
            "user": {
                "salt": pw_salt.hex(), "ops": c.PASSWORD_OPS, "mem": c.PASSWORD_MEM, "pk_pw": pk_pw.hex(),
                "cert": c.sign(keyring.signing, c.user_cert_message(org_id, user_key, "admin", pw_salt,
                                                                     c.PASSWORD_OPS, c.PASSWORD_MEM, pk_pw)).hex(),
            },
            "master": {
                "salt": mp_salt.hex(), "ops": c.MASTER_OPS, "mem": c.MASTER_MEM, "sign_pk": mp_sign_pk.hex(),
                "box_pk": mp_box_pk.hex(),
                "anchor": c.mp_anchor(mp.anchor_key, org_id, keyring.sign_pk, mp_sign_pk, mp_box_pk).hex(),
                "grant": keyring.grant("mp", mp_box_pk),
                "cert": c.sign(keyring.signing, master_keys_cert(org_id, mp_sign_pk, mp_box_pk)).hex(),
            },
            "device": {
                "device_id": device_id, "sign_pk": dev_sign_pk.hex(), "box_pk": dev_box_pk.hex(),
                "cert": c.sign(keyring.signing, c.device_cert_message(org_id, device_id, device_name, dev_sign_pk,
                                                                       dev_box_pk, approved_at,
                                                                       "registration")).hex(),
                "approved_at": approved_at,
                "grant": keyring.grant(device_id, dev_box_pk),
            },
            "signatures": {
                "org": c.sign(keyring.signing, transcript).hex(),
                "master": c.sign(mp.signing, transcript).hex(),
                "password": c.sign(pw.signing, transcript).hex(),
                "device": c.sign(device.signing, transcript).hex(),
            },
        }
        result: dict[str, Any] = self.request("POST", "/api/v1/registrations", body)
        self.store.save_device(DeviceRecord(
            origin=self.origin, org_key=short_name_key(str(creds["org_short"])), org_id=org_id, device_id=device_id,
            name=device_name, seed=device_seed.hex(), pinned_org_sign_pk=keyring.sign_pk.hex(), keyring_version=1,
        ))
        return result

    # --- login (design/crypto.md §4.2) ----------------------------------------------------------

    def login(self, org: str, user: str, password: str) -> LoggedIn:
        record = self.store.device(self.origin, short_name_key(org))
        if record is None:
            raise ApiError(400, MSG_NO_DEVICE)
        if c.password_length(password) > values.PASSWORD_MAX:  # refused at the form, never sent
            raise ApiError(400, values.MSG_PASSWORD_TOO_LONG, {"password": [values.MSG_PASSWORD_TOO_LONG]})
        challenge = self.request("POST", "/api/v1/auth/start",
                                 {"org": org, "user": user, "device_id": record.device_id, "origin": self.origin})
        kdf, salt = challenge["kdf"], bytes.fromhex(challenge["salt"])
        if kdf["ops"] < c.PASSWORD_OPS or kdf["mem"] < c.PASSWORD_MEM or len(salt) != c.SALT_BYTES:
            raise TamperingDetected("Der Server verlangt zu schwache Parameter für die Schlüsselableitung.")
        device = c.DeviceKeys.from_seed(bytes.fromhex(record.seed))
        pw = c.password_keys(password, salt, kdf["ops"], kdf["mem"])
        transcript = c.login_transcript(org, user, record.device_id, bytes.fromhex(challenge["nonce"]), self.origin)
        try:
            result = self.request("POST", "/api/v1/auth/finish", {
                "challenge_id": challenge["challenge_id"],
                "sig_pw": c.sign(pw.signing, transcript).hex(),
                "sig_dev": c.sign(device.signing, transcript).hex(),
            })
        except ApiError as error:
            if error.status == 401 and record.pinned_org_sign_pk is None and record.pairing_code:
                from interfaces.client.devices import explain_pending  # "Gerät wartet auf Freigabe" (§4.3)

                explain_pending(self, org, user, record, password)
            raise
        pinned = record.pinned_org_sign_pk
        first_login = pinned is None
        if pinned is None:  # first login after approval: check tag_A before pinning the org key (§4.4)
            from interfaces.client.devices import pin_after_approval

            pinned = pin_after_approval(record, result)
        if result["org_sign_pk"] != pinned:
            raise TamperingDetected(MSG_TAMPERED)
        keyring = open_grant(result["grant"], record.org_id, record.device_id, bytes.fromhex(pinned), device.box,
                             record.keyring_version)
        # The organisation vouches for this user's password key and role: a server that slipped in a user or
        # raised a role is caught here. (A freshly invited user waits for an admin's certificate.)
        if result.get("user_cert"):
            certified = c.user_cert_message(record.org_id, short_name_key(result["user_short"]), result["role"], salt,
                                            kdf["ops"], kdf["mem"], pw.signing.verify_key.encode())
            if not c.verify(bytes.fromhex(pinned), certified, bytes.fromhex(result["user_cert"])):
                raise TamperingDetected(MSG_TAMPERED)
        if keyring.version > record.keyring_version or first_login:
            record.keyring_version = keyring.version
            record.pinned_org_sign_pk, record.pairing_code = pinned, None
            self.store.save_device(record)
        self.session = LoggedIn(result["token"], result["org_id"], result["org_short"], result["user_short"],
                                result["role"], result["device_id"], keyring)
        self.store.save_session(self.origin, {"token": result["token"], "org_short": result["org_short"],
                                              "user_short": result["user_short"], "role": result["role"]})
        return self.session

    def resume(self, org: str, user: str) -> LoggedIn | None:
        """The session of the last `login`, if it is this user's at this server and still alive (30 min idle,
        12 h at most): the keyring is reopened from this device's grant with the same checks as at login, and
        again kept in memory only. None: log in with the password (the saved session is then replaced)."""
        saved = self.store.session() or {}
        record = self.store.device(self.origin, short_name_key(org))
        if (saved.get("origin") != self.origin or record is None or record.pinned_org_sign_pk is None
                or short_name_key(saved.get("org_short", "")) != short_name_key(org)
                or short_name_key(saved.get("user_short", "")) != short_name_key(user)):
            return None
        try:
            info = self.request("GET", "/api/v1/session", auth=True)
        except ApiError as error:
            if error.status == 401:  # expired or ended elsewhere
                self.store.clear_session()
                return None
            raise
        # The role was checked against the user certificate at login; if it changed since, log in again so
        # that the new certificate is checked too.
        if info.get("device_id") != record.device_id or info.get("role") != saved.get("role") \
                or not info.get("grant"):
            return None
        if info.get("org_sign_pk") != record.pinned_org_sign_pk or str(info.get("org_id")) != record.org_id:
            raise TamperingDetected(MSG_TAMPERED)
        device = c.DeviceKeys.from_seed(bytes.fromhex(record.seed))
        keyring = open_grant(info["grant"], record.org_id, record.device_id, bytes.fromhex(record.pinned_org_sign_pk),
                             device.box, record.keyring_version)
        if keyring.version > record.keyring_version:
            record.keyring_version = keyring.version
            self.store.save_device(record)
        self.session = LoggedIn(saved["token"], record.org_id, info["org_short"], info["user_short"], info["role"],
                                record.device_id, keyring)
        return self.session

    def logout(self) -> None:
        try:
            self.request("POST", "/api/v1/auth/logout", auth=True)
        finally:
            self.session = None
            self.store.clear_session()

    def whoami(self) -> dict[str, Any]:
        info: dict[str, Any] = self.request("GET", "/api/v1/session", auth=True)
        return info
