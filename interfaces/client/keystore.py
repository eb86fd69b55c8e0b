"""Local storage of the SDK: the device seed (never leaves this machine), the pinned organisation key,
the highest keyring version seen, the session token of the last `login` (reused by later commands until it
expires or `logout` ends it) and the short names of the last login (kept after logout as the CLI's defaults).
Files are 0600 under the user's config directory (SPRECHZIMMER_CONFIG_DIR overrides it).

The device seed is never written as plain hex (issue 10.9): it is kept in a SecretBox whose key comes from
the OS keyring where a usable backend exists (a random key there), else from SPRECHZIMMER_DEVICE_PASSPHRASE,
else from the login password (Argon2id with a local salt; re-wrapped when the password changes)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

from sprechzimmer_protocol import primitives as p
from sprechzimmer_protocol.policy import SALT_BYTES

PASSPHRASE_ENV = "SPRECHZIMMER_DEVICE_PASSPHRASE"
KEYRING_SERVICE = "sprechzimmer"
WRAP_OPS, WRAP_MEM = 2, 64 * 1024 * 1024  # Argon2id for a passphrase or password that unlocks the seed
MSG_DEVICE_LOCKED = ("Der Geräteschlüssel ist verschlüsselt gespeichert. Bitte mit `sprechzimmer login` anmelden "
                     f"oder die Passphrase in {PASSPHRASE_ENV} angeben.")
MSG_DEVICE_UNLOCK = (f"Der Geräteschlüssel lässt sich nicht entsperren: das Passwort bzw. {PASSPHRASE_ENV} passt "
                     "nicht zu diesem Gerät.")


class DeviceLocked(Exception):
    """The device seed cannot be unwrapped (no or a wrong unlock secret); the message is German. `by` says
    what should have unlocked it: "keyring", "passphrase" or "password"."""

    def __init__(self, message: str, by: str = ""):
        super().__init__(message)
        self.by = by


def _os_keyring() -> Any:
    """The keyring module when a usable backend exists (not the fail/null backend of a headless machine)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
            return None
        return keyring
    except Exception:  # any backend problem means: use the passphrase or password instead
        return None


def config_dir() -> Path:
    return Path(os.environ.get("SPRECHZIMMER_CONFIG_DIR") or platformdirs.user_config_dir("sprechzimmer"))


@dataclass
class DeviceRecord:
    origin: str
    org_key: str
    org_id: str
    device_id: str
    name: str
    seed: str  # hex; the device's only secret
    pinned_org_sign_pk: str | None
    keyring_version: int = 0
    pairing_code: str | None = None  # only while an enrolment waits for approval


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


class LocalStore:
    def __init__(self, directory: Path | None = None):
        self.directory = directory or config_dir()
        self._password: str | None = None
        self._keys: dict[tuple[str, bytes], bytes] = {}  # derived wrapping keys: one Argon2id run per process
        # Password-derived keys of device files this process opened: kept in the session file while the login
        # lasts (like an agent), so later commands of the same login open the device without the password.
        self._unlocked: dict[str, str] = {}

    def unlock(self, password: str) -> None:
        """The login password, used to wrap the seed where no OS keyring and no passphrase exist."""
        self._password = password

    def _derived(self, secret: str, salt: bytes) -> bytes:
        if (secret, salt) not in self._keys:
            self._keys[(secret, salt)] = p.argon2(secret.encode(), salt, WRAP_OPS, WRAP_MEM)
        return self._keys[(secret, salt)]

    def _wrap(self, name: str, seed: str) -> dict[str, str]:
        salt = p.random_bytes(SALT_BYTES)
        if (keyring := _os_keyring()) is not None:
            try:
                key = p.random_bytes(32)
                keyring.set_password(KEYRING_SERVICE, name, key.hex())
                return {"by": "keyring", "salt": salt.hex(), "box": p.secretbox_encrypt(key, seed.encode()).hex()}
            except Exception:  # a backend that refuses to store: fall back to the passphrase or password
                pass
        secret, by = os.environ.get(PASSPHRASE_ENV) or None, "passphrase"
        if secret is None:
            secret, by = self._password, "password"
        if not secret:
            raise DeviceLocked(MSG_DEVICE_LOCKED, by)
        key = self._derived(secret, salt)
        if by == "password":
            self._unlocked[name] = key.hex()
        return {"by": by, "salt": salt.hex(), "box": p.secretbox_encrypt(key, seed.encode()).hex()}

    def _unwrap(self, name: str, wrap: dict[str, str]) -> str:
        salt = bytes.fromhex(wrap["salt"])
        if wrap["by"] == "keyring":
            keyring = _os_keyring()
            stored = keyring.get_password(KEYRING_SERVICE, name) if keyring is not None else None
            if not stored:
                raise DeviceLocked(MSG_DEVICE_UNLOCK)
            key = bytes.fromhex(stored)
        elif wrap["by"] == "password" and not self._password:
            held = ((self.session() or {}).get("seed_keys") or {}).get(name)
            if not held:
                raise DeviceLocked(MSG_DEVICE_LOCKED, "password")
            key = bytes.fromhex(held)
        else:
            secret = os.environ.get(PASSPHRASE_ENV) if wrap["by"] == "passphrase" else self._password
            if not secret:
                raise DeviceLocked(MSG_DEVICE_LOCKED, wrap["by"])
            key = self._derived(secret, salt)
        try:
            seed = p.secretbox_decrypt(key, bytes.fromhex(wrap["box"])).decode()
        except (p.CryptoError, ValueError):
            raise DeviceLocked(MSG_DEVICE_UNLOCK, wrap["by"]) from None
        if wrap["by"] == "password":
            self._unlocked[name] = key.hex()
        return seed

    def _device_path(self, origin: str, org_key: str) -> Path:
        digest = hashlib.sha256(f"{origin}\n{org_key}".encode()).hexdigest()[:24]
        return self.directory / "devices" / f"{digest}.json"

    def save_device(self, record: DeviceRecord) -> None:
        path = self._device_path(record.origin, record.org_key)
        data = {**asdict(record), "seed": "", "seed_wrap": self._wrap(path.stem, record.seed)}
        _write_private(path, data)

    def device(self, origin: str, org_key: str) -> DeviceRecord | None:
        """Raises DeviceLocked when the seed cannot be unwrapped. A file of an older SDK with the seed in plain
        hex is wrapped at once."""
        path = self._device_path(origin, org_key)
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        wrap = data.pop("seed_wrap", None)
        if wrap is not None:
            data["seed"] = self._unwrap(path.stem, wrap)
        record = DeviceRecord(**data)
        if wrap is None:
            self.save_device(record)
        return record

    def rewrap(self, password: str) -> None:
        """After a password change: device files wrapped under the old login password get the new one."""
        old, self._password = self._password, password
        for path in (self.directory / "devices").glob("*.json"):
            data = json.loads(path.read_text())
            if (data.get("seed_wrap") or {}).get("by") != "password":
                continue
            self._password = old
            seed = self._unwrap(path.stem, data["seed_wrap"])
            self._password = password
            _write_private(path, {**data, "seed_wrap": self._wrap(path.stem, seed)})
        if (session := self.session()) is not None:  # the running login keeps working with the new wrapping
            _write_private(self.directory / "session.json", {**session, "seed_keys": self._unlocked})

    def save_session(self, origin: str, data: dict[str, Any]) -> None:
        _write_private(self.directory / "session.json", {"origin": origin, **data, "seed_keys": self._unlocked})
        _write_private(self.directory / "last-login.json", {"origin": origin, "org_short": data.get("org_short"),
                                                            "user_short": data.get("user_short")})

    def last_login(self, origin: str) -> dict[str, Any]:
        """Organisation and user of the last login at this server ({} if none); no secret in it."""
        path = self.directory / "last-login.json"
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        return data if data.get("origin") == origin else {}

    def session(self) -> dict[str, Any] | None:
        path = self.directory / "session.json"
        return json.loads(path.read_text()) if path.exists() else None

    def clear_session(self) -> None:
        (self.directory / "session.json").unlink(missing_ok=True)

    # The secret of an invite code this admin device issued (§8a.10): only with it can this device check the
    # invited employee's proof before certifying their password key. Kept until the user is certified.

    def _invite_path(self, origin: str, org_id: str, user_key: str) -> Path:
        digest = hashlib.sha256(f"{origin}\n{org_id}\n{user_key}".encode()).hexdigest()[:24]
        return self.directory / "invites" / f"{digest}.json"

    def save_invite_secret(self, origin: str, org_id: str, user_key: str, secret: bytes) -> None:
        _write_private(self._invite_path(origin, org_id, user_key), {"secret": secret.hex()})

    def invite_secret(self, origin: str, org_id: str, user_key: str) -> bytes | None:
        path = self._invite_path(origin, org_id, user_key)
        return bytes.fromhex(json.loads(path.read_text())["secret"]) if path.exists() else None

    def forget_invite_secret(self, origin: str, org_id: str, user_key: str) -> None:
        self._invite_path(origin, org_id, user_key).unlink(missing_ok=True)
