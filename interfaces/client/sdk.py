"""Python client SDK: the client side of design/crypto.md. Passwords and keys stay on this machine;
the server receives public keys, signatures, certificates and sealed grants only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

import httpx
from zxcvbn import zxcvbn

from sprechzimmer_protocol import layouts as t
from sprechzimmer_protocol import names
from sprechzimmer_protocol import primitives as p
from sprechzimmer_protocol.calls import CodeSecrets
from sprechzimmer_protocol.errors import MSG_TAMPERED, TamperingDetected
from sprechzimmer_protocol.keyring import Keyring, KeyringGrant, KeyringHead
from sprechzimmer_protocol.keys import DeviceKeys, master_keys, password_keys
from sprechzimmer_protocol.policy import (
    MASTER_MEM,
    MASTER_OPS,
    PASSWORD_MEM,
    PASSWORD_OPS,
    SALT_BYTES,
    WeakParameters,
    check_password_parameters,
)
from sprechzimmer_protocol.values import DeviceCertificate, MasterKeyParams, PasswordVerifier, UserCertificate

from .keystore import DeviceLocked, DeviceRecord, LocalStore

__all__ = ["MSG_TAMPERED", "ApiError", "Client", "Keyring", "LoggedIn", "TamperingDetected", "open_grant"]

# The server's single login failure, in the words of the form (design/crypto.md §4.3).
MSG_LOGIN_FAILED = ("Anmeldung fehlgeschlagen. Bitte Kurzname der Organisation, Kurzname des Benutzers und Passwort "
                    "prüfen.")
MSG_NO_DEVICE = "Dieses Gerät ist für diese Organisation nicht eingerichtet."
MSG_SESSION_ENDED = "Die Sitzung ist abgelaufen oder wurde beendet. Bitte erneut anmelden: `sprechzimmer login`."
# A code is derived once per process (Argon2id, §8a.4): checking a code and joining with it cost one run.
CODE_SECRETS = CodeSecrets()


class ApiError(Exception):
    """A problem+json answer of the server, or a client-side refusal with the same shape."""

    def __init__(self, status: int, detail: str, errors: dict[str, list[str]] | None = None,
                 retry_after: int | None = None, problem: dict[str, Any] | None = None):
        super().__init__(detail)
        self.problem = problem or {}  # the whole problem+json body (e.g. type and keyring_version)
        self.status = status
        self.detail = detail
        self.errors = errors or {}
        self.retry_after = retry_after

    def __str__(self) -> str:
        lines = [self.detail] + [f"  {field}: {' '.join(msgs)}" for field, msgs in self.errors.items()]
        return "\n".join(lines)


def open_grant(grant: dict[str, Any], org_id: str, recipient: str, pinned_org_sign_pk: bytes,
               box_key: p.PrivateKey, min_version: int) -> Keyring:
    """Verify before decrypting: the org signature, the pinned org key inside, and no rollback (§2.3)."""
    try:
        wire = KeyringGrant.from_wire(grant)
    except (KeyError, ValueError, TypeError):
        raise TamperingDetected(MSG_TAMPERED) from None
    return wire.open(org_id, recipient, pinned_org_sign_pk, box_key, min_version)


def check_user_cert(org_id: str, answer: dict[str, Any], verifier: PasswordVerifier, pinned_org_sign_pk: str) -> None:
    """The organisation vouches for this user's password key and role (§4.5, §8a.10): a server that slipped in a
    user, swapped an invited user's password key or raised a role is caught here. Without a certificate there
    is no login: an invited user is certified when an admin approves their device."""
    try:
        certified = UserCertificate(org_id, names.short_name_key(str(answer["user_short"])), str(answer["role"]),
                                    verifier, bytes.fromhex(str(answer.get("user_cert") or "")))
        ok = bool(certified.sig) and certified.verifies(bytes.fromhex(pinned_org_sign_pk))
    except (KeyError, ValueError, TypeError):
        ok = False
    if not ok:
        raise TamperingDetected(MSG_TAMPERED)


def keyring_rotated_at(org_id: str, answer: dict[str, Any], keyring: Keyring) -> str | None:
    """The date of the current keyring from the org-signed head the server sends with it (§8a.11); None before
    the first rotation. A head that does not verify or belongs to another version is a forgery."""
    if not answer.get("keyring_head"):
        return None
    try:
        head = KeyringHead.from_wire(org_id, answer["keyring_head"])
        ok = head.version == keyring.version and head.verifies(keyring.sign_pk)
    except (KeyError, ValueError, TypeError):
        ok = False
    if not ok:
        raise TamperingDetected(MSG_TAMPERED)
    return head.rotated_at


def master_password_problem(master_password: str, password: str) -> str | None:
    """Decision 1 of design/crypto.md §8: ≥ 12 characters or ≥ 4 words, and a strength check."""
    if master_password == password:
        return names.MSG_MASTER_SAME
    if not names.master_password_length_ok(master_password) or zxcvbn(master_password[:100])["score"] < 3:
        return names.MSG_MASTER_WEAK
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
    keyring_rotated_at: str | None = None  # from the org-signed head of keyring.version (§8a.11)
    # Legal texts ({document, version}) in a version the organisation has not accepted yet (see accept_legal).
    legal_pending: list[dict[str, str]] = dataclass_field(default_factory=list)


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
                           int(retry) if retry and retry.isdigit() else None, problem)
        return response.json() if response.content else None

    # --- registration (design/crypto.md §4.1) ---------------------------------------------------

    def register(self, form: dict[str, Any], password: str, password_repeat: str, master_password: str,
                 master_password_repeat: str) -> dict[str, Any]:
        """`form` holds the API body without `crypto`; the passwords never leave this process."""
        errors: dict[str, list[str]] = {}
        if problem := names.password_problem(password):
            errors["password"] = [problem]
        elif password != password_repeat:
            errors["password_repeat"] = [names.MSG_PASSWORD_REPEAT]
        if problem := master_password_problem(master_password, password):
            errors["master_password"] = [problem]
        elif master_password != master_password_repeat:
            errors["master_password_repeat"] = [names.MSG_PASSWORD_REPEAT]
        creds = form.get("credentials") or {}
        for field in ("org_short", "user_short"):  # the server's rule (§8a.2), checked before any key exists
            if not names.is_short_name(str(creds.get(field, ""))):
                errors[f"credentials.{field}"] = [names.MSG_SHORT_NAME]
        if errors:
            raise ApiError(400, "Bitte die markierten Felder prüfen.", errors)

        self.store.unlock(password)  # wraps the device seed where no OS keyring or passphrase exists
        org_id = str(uuid.uuid4())
        keyring = Keyring.new(org_id)
        device_seed = p.random_bytes(32)
        device = DeviceKeys.from_seed(device_seed)
        device_id = "dev-" + p.random_bytes(8).hex()
        pw_salt, mp_salt = p.random_bytes(SALT_BYTES), p.random_bytes(SALT_BYTES)
        pw = password_keys(password, pw_salt)
        mp = master_keys(master_password, mp_salt)
        approved_at = datetime.now(UTC).isoformat(timespec="seconds")
        user_key = names.short_name_key(str(creds["user_short"]))
        device_name = str(creds["device_name"])
        user_cert = UserCertificate(org_id, user_key, "admin",
                                    PasswordVerifier(pw_salt, PASSWORD_OPS, PASSWORD_MEM, pw.pk)).signed(keyring)
        master = MasterKeyParams(mp_salt, MASTER_OPS, MASTER_MEM, mp.sign_pk, mp.box_pk,
                                 mp.anchor(org_id, keyring.sign_pk)).certified(keyring)
        device_cert = DeviceCertificate(org_id, device_id, device_name, device.sign_pk, device.box_pk, approved_at,
                                        "registration").signed(keyring)

        transcript = t.registration(str(creds["org_short"]).strip(), org_id, str(creds["user_short"]).strip(),
                                    device_id, self.origin)
        body = dict(form)
        body["crypto"] = {
            "org_id": org_id,
            "origin": self.origin,
            "org_sign_pk": keyring.sign_pk.hex(),
            "org_box_pk": keyring.box_pk.hex(),
            "user": {**user_cert.verifier.to_wire(), "cert": user_cert.sig.hex()},
            "master": {**master.to_wire(), "grant": keyring.grant("mp", mp.box_pk).to_wire()},
            "device": {
                "device_id": device_id, "sign_pk": device.sign_pk.hex(), "box_pk": device.box_pk.hex(),
                "cert": device_cert.sig.hex(), "approved_at": approved_at,
                "grant": keyring.grant(device_id, device.box_pk).to_wire(),
            },
            "signatures": {
                "org": p.sign(keyring.signing, transcript).hex(),
                "master": p.sign(mp.signing, transcript).hex(),
                "password": p.sign(pw.signing, transcript).hex(),
                "device": p.sign(device.signing, transcript).hex(),
            },
        }
        result: dict[str, Any] = self.request("POST", "/api/v1/registrations", body)
        self.store.save_device(DeviceRecord(
            origin=self.origin, org_key=names.short_name_key(str(creds["org_short"])), org_id=org_id,
            device_id=device_id, name=device_name, seed=device_seed.hex(), pinned_org_sign_pk=keyring.sign_pk.hex(),
            keyring_version=1,
        ))
        return result

    # --- login (design/crypto.md §4.2) ----------------------------------------------------------

    def login(self, org: str, user: str, password: str, accept_legal: bool = False) -> LoggedIn:
        """`accept_legal`: accept new versions of Nutzungsbedingungen and AVV (/rechtliches/…) right away."""
        session = self._login(org, user, password)
        if accept_legal and session.legal_pending:
            self.accept_legal()
        return session

    def accept_legal(self) -> list[dict[str, str]]:
        """Accepts the versions the login named as pending (administrators); returns what is still pending."""
        assert self.session is not None
        versions = {item["document"]: item["version"] for item in self.session.legal_pending}
        answer = self.request("POST", "/api/v1/legal/acceptances", {"documents": versions}, auth=True)
        self.session.legal_pending = list(answer["legal_pending"])
        return self.session.legal_pending

    def _login(self, org: str, user: str, password: str) -> LoggedIn:
        self.store.unlock(password)  # unwraps the device seed where no OS keyring or passphrase exists
        try:
            record = self.store.device(self.origin, names.short_name_key(org))
        except DeviceLocked as locked:
            if locked.by == "password":  # the seed is wrapped under the password: it is the password that is wrong
                raise ApiError(401, MSG_LOGIN_FAILED) from None
            raise
        if record is None:
            raise ApiError(400, MSG_NO_DEVICE)
        if names.password_length(password) > names.PASSWORD_MAX:  # refused at the form, never sent
            raise ApiError(400, names.MSG_PASSWORD_TOO_LONG, {"password": [names.MSG_PASSWORD_TOO_LONG]})
        challenge = self.request("POST", "/api/v1/auth/start",
                                 {"org": org, "user": user, "device_id": record.device_id, "origin": self.origin})
        kdf, salt = challenge["kdf"], bytes.fromhex(challenge["salt"])
        try:
            check_password_parameters(kdf["ops"], kdf["mem"], salt)
        except WeakParameters as weak:
            raise TamperingDetected(str(weak)) from None
        device = DeviceKeys.from_seed(bytes.fromhex(record.seed))
        pw = password_keys(password, salt, kdf["ops"], kdf["mem"])
        transcript = t.login(org, user, record.device_id, bytes.fromhex(challenge["nonce"]), self.origin)
        try:
            result = self.request("POST", "/api/v1/auth/finish", {
                "challenge_id": challenge["challenge_id"],
                "sig_pw": p.sign(pw.signing, transcript).hex(),
                "sig_dev": p.sign(device.signing, transcript).hex(),
            })
        except ApiError as error:
            if error.status == 401 and record.pinned_org_sign_pk is None and record.pairing_code:
                from .devices import explain_pending  # "Gerät wartet auf Freigabe" (§4.3)

                explain_pending(self, org, user, record, password)
            raise
        pinned = record.pinned_org_sign_pk
        first_login = pinned is None
        if pinned is None:  # first login after approval: check tag_A before pinning the org key (§4.4)
            from .devices import pin_after_approval

            pinned = pin_after_approval(record, result)
        if result["org_sign_pk"] != pinned:
            raise TamperingDetected(MSG_TAMPERED)
        keyring = open_grant(result["grant"], record.org_id, record.device_id, bytes.fromhex(pinned), device.box,
                             record.keyring_version)
        check_user_cert(record.org_id, result, PasswordVerifier(salt, kdf["ops"], kdf["mem"], pw.pk), pinned)
        if keyring.version > record.keyring_version or first_login:
            record.keyring_version = keyring.version
            record.pinned_org_sign_pk, record.pairing_code = pinned, None
            self.store.save_device(record)
        self.session = LoggedIn(result["token"], result["org_id"], result["org_short"], result["user_short"],
                                result["role"], result["device_id"], keyring,
                                keyring_rotated_at(record.org_id, result, keyring),
                                list(result.get("legal_pending", [])))
        self.store.save_session(self.origin, {"token": result["token"], "org_short": result["org_short"],
                                              "user_short": result["user_short"], "role": result["role"]})
        return self.session

    def resume(self, org: str, user: str) -> LoggedIn | None:
        """The session of the last `login`, if it is this user's at this server and still alive (30 min idle,
        12 h at most): the keyring is reopened from this device's grant with the same checks as at login, and
        again kept in memory only. None: log in with the password (the saved session is then replaced)."""
        saved = self.store.session() or {}
        try:
            record = self.store.device(self.origin, names.short_name_key(org))
        except DeviceLocked:  # the seed is wrapped under the login password: log in with it
            return None
        if (saved.get("origin") != self.origin or record is None or record.pinned_org_sign_pk is None
                or names.short_name_key(saved.get("org_short", "")) != names.short_name_key(org)
                or names.short_name_key(saved.get("user_short", "")) != names.short_name_key(user)):
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
        try:
            verifier = PasswordVerifier.from_wire(info.get("password") or {})
        except (KeyError, ValueError, TypeError):
            raise TamperingDetected(MSG_TAMPERED) from None
        check_user_cert(record.org_id, info, verifier, record.pinned_org_sign_pk)
        device = DeviceKeys.from_seed(bytes.fromhex(record.seed))
        keyring = open_grant(info["grant"], record.org_id, record.device_id, bytes.fromhex(record.pinned_org_sign_pk),
                             device.box, record.keyring_version)
        if keyring.version > record.keyring_version:
            record.keyring_version = keyring.version
            self.store.save_device(record)
        self.session = LoggedIn(saved["token"], record.org_id, info["org_short"], info["user_short"], info["role"],
                                record.device_id, keyring, keyring_rotated_at(record.org_id, info, keyring))
        return self.session

    def refresh_keyring(self, at_least: int) -> Keyring:
        """After the server said the keyring was rotated (issue 10.11): this device's newest grant, opened with
        the login's checks; a grant older than `at_least` or than the pinned version is refused."""
        if self.session is None:
            raise ApiError(401, MSG_SESSION_ENDED)
        record = self.store.device(self.origin, names.short_name_key(self.session.org_short))
        if record is None or record.pinned_org_sign_pk is None:
            raise ApiError(400, MSG_NO_DEVICE)
        info = self.request("GET", "/api/v1/session", auth=True)
        if info.get("org_sign_pk") != record.pinned_org_sign_pk or not info.get("grant"):
            raise TamperingDetected(MSG_TAMPERED)
        device = DeviceKeys.from_seed(bytes.fromhex(record.seed))
        keyring = open_grant(info["grant"], record.org_id, record.device_id, bytes.fromhex(record.pinned_org_sign_pk),
                             device.box, max(record.keyring_version, at_least))
        if keyring.version > record.keyring_version:
            record.keyring_version = keyring.version
            self.store.save_device(record)
        self.session.keyring = keyring
        self.session.keyring_rotated_at = keyring_rotated_at(record.org_id, info, keyring)
        return keyring

    def logout(self) -> None:
        try:
            self.request("POST", "/api/v1/auth/logout", auth=True)
        finally:
            self.session = None
            self.store.clear_session()

    def whoami(self) -> dict[str, Any]:
        info: dict[str, Any] = self.request("GET", "/api/v1/session", auth=True)
        return info
