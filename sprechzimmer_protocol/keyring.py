"""The organisation keyring and how it travels (design/crypto.md §2.3, §8a.1, §8a.11): only as grants —
a sealed box to one recipient, signed by the organisation — and, from v1.1, with a signed keyring head."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import layouts
from .encoding import unhex
from .errors import MSG_TAMPERED, TamperingDetected
from .primitives import PrivateKey, SigningKey, box_key, box_pk, random_bytes, seal, sign, unseal, verify


@dataclass(frozen=True)
class Keyring:
    """Plaintext only on approved devices, in memory. Its JSON is only ever sealed, never signed."""

    version: int
    org_id: str
    org_sign_seed: bytes
    org_box_seed: bytes
    data_keys: dict[int, bytes]

    @classmethod
    def new(cls, org_id: str) -> Keyring:
        return cls(1, org_id, random_bytes(32), random_bytes(32), {1: random_bytes(32)})

    def rotated(self) -> Keyring:
        """Version v+1 with a new data key; older data keys stay so older records still open (§4.8)."""
        return Keyring(self.version + 1, self.org_id, self.org_sign_seed, self.org_box_seed,
                       {**self.data_keys, self.version + 1: random_bytes(32)})

    @property
    def signing(self) -> SigningKey:
        return SigningKey(self.org_sign_seed)

    @property
    def sign_pk(self) -> bytes:
        return self.signing.verify_key.encode()

    @property
    def box(self) -> PrivateKey:
        """crypto_box_seed_keypair(org_box_seed) (§8a.1), never the raw seed as the scalar."""
        return box_key(self.org_box_seed)

    @property
    def box_pk(self) -> bytes:
        return box_pk(self.box)

    @property
    def newest_data_key(self) -> tuple[int, bytes]:
        version = max(self.data_keys)
        return version, self.data_keys[version]

    def to_json(self) -> bytes:
        return json.dumps({"version": self.version, "org_id": self.org_id,
                           "org_sign_seed": self.org_sign_seed.hex(), "org_box_seed": self.org_box_seed.hex(),
                           "data_keys": {str(k): v.hex() for k, v in self.data_keys.items()}}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Keyring:
        d = json.loads(raw)
        return cls(int(d["version"]), str(d["org_id"]), unhex(d["org_sign_seed"]), unhex(d["org_box_seed"]),
                   {int(k): unhex(v) for k, v in d["data_keys"].items()})

    def grant(self, recipient: str, recipient_box_pk: bytes) -> KeyringGrant:
        sealed = seal(recipient_box_pk, self.to_json())
        sig = sign(self.signing, layouts.keyring_grant(self.org_id, recipient, self.version, sealed))
        return KeyringGrant(self.version, sealed, sig)

    def head(self, rotated_at: str) -> KeyringHead:
        return KeyringHead.signed(self.signing, self.org_id, self.version, rotated_at)


@dataclass(frozen=True)
class KeyringGrant:
    """grant(recipient, v) = sealed box of keyring v + the org's signature over (org, recipient, v, sealed).
    On the wire a grant is {"sealed", "sig"} (hex); the version travels beside it in requests and inside
    it in answers, so `from_wire` takes it from either."""

    version: int
    sealed: bytes
    sig: bytes

    def to_wire(self) -> dict[str, str]:
        return {"sealed": self.sealed.hex(), "sig": self.sig.hex()}

    @classmethod
    def from_wire(cls, wire: dict[str, Any], version: int | None = None) -> KeyringGrant:
        return cls(int(wire["version"]) if version is None else version, unhex(wire["sealed"]), unhex(wire["sig"]))

    def open(self, org_id: str, recipient: str, pinned_org_sign_pk: bytes, box: PrivateKey,
             min_version: int) -> Keyring:
        """Verify before decrypting: the org signature, the pinned org key inside, no rollback (§2.3, §7)."""
        if not verify(pinned_org_sign_pk, layouts.keyring_grant(org_id, recipient, self.version, self.sealed),
                      self.sig):
            raise TamperingDetected(MSG_TAMPERED)
        keyring = Keyring.from_json(unseal(box, self.sealed))
        if keyring.sign_pk != pinned_org_sign_pk or keyring.version != self.version or self.version < min_version \
                or keyring.org_id != org_id:
            raise TamperingDetected(MSG_TAMPERED)
        return keyring


@dataclass(frozen=True)
class KeyringHead:
    """The org's signed statement "keyring version v is current since rotated_at" (§8a.11)."""

    org_id: str
    version: int
    rotated_at: str
    sig: bytes

    @classmethod
    def signed(cls, org_signing: SigningKey, org_id: str, version: int, rotated_at: str) -> KeyringHead:
        return cls(org_id, version, rotated_at, sign(org_signing, layouts.keyring_head(org_id, version, rotated_at)))

    def message(self) -> bytes:
        return layouts.keyring_head(self.org_id, self.version, self.rotated_at)

    def verifies(self, org_sign_pk: bytes) -> bool:
        return verify(org_sign_pk, self.message(), self.sig)

    def to_wire(self) -> dict[str, Any]:
        return {"version": self.version, "rotated_at": self.rotated_at, "sig": self.sig.hex()}

    @classmethod
    def from_wire(cls, org_id: str, wire: dict[str, Any]) -> KeyringHead:
        return cls(org_id, int(wire["version"]), str(wire["rotated_at"]), unhex(wire["sig"]))
