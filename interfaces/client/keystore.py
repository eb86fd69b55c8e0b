"""Local storage of the SDK: the device seed (never leaves this machine), the pinned organisation key,
the highest keyring version seen, the session token of the last `login` (reused by later commands until it
expires or `logout` ends it) and the short names of the last login (kept after logout as the CLI's defaults).
Files are 0600 under the user's config directory (SPRECHZIMMER_CONFIG_DIR overrides it)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs


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

    def _device_path(self, origin: str, org_key: str) -> Path:
        digest = hashlib.sha256(f"{origin}\n{org_key}".encode()).hexdigest()[:24]
        return self.directory / "devices" / f"{digest}.json"

    def save_device(self, record: DeviceRecord) -> None:
        _write_private(self._device_path(record.origin, record.org_key), asdict(record))

    def device(self, origin: str, org_key: str) -> DeviceRecord | None:
        path = self._device_path(origin, org_key)
        return DeviceRecord(**json.loads(path.read_text())) if path.exists() else None

    def save_session(self, origin: str, data: dict[str, Any]) -> None:
        _write_private(self.directory / "session.json", {"origin": origin, **data})
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
