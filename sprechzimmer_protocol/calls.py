"""Join tokens, call keys and SDP MACs (design/crypto.md §4.10a as amended by §8a.4).

A code's secret s = Argon2id(normalised code, join salt, ops 2, 64 MiB); the server sees only
join = h("vdc/v1/join", s), and k_call derives from s of the patient (or conference) code. The slow hash
means an operator who records `join` cannot search the 2^60 codes to forge SDP MACs. Clients derive s once
per code and session (`CodeSecrets`)."""

from __future__ import annotations

from collections import OrderedDict

from .codes import normalise_code
from .policy import CODE_MEM, CODE_OPS
from .primitives import argon2, h, kdf

JOIN_SALT = h("vdc/v1/join-salt")[:16]


def join_secret(code: str) -> bytes:
    """s of a code (one Argon2id run). Raises ValueError for a malformed code."""
    return argon2(normalise_code(code).encode(), JOIN_SALT, CODE_OPS, CODE_MEM)


def join_token_from_secret(secret: bytes) -> bytes:
    return h("vdc/v1/join", secret)


def call_key_from_secret(secret: bytes) -> bytes:
    return kdf(h("vdc/v1/call-key", secret), "vdccl_v1", 1)


def join_token(code: str) -> bytes:
    """What a client sends to join a call or check a code; the server never sees the code itself."""
    return join_token_from_secret(join_secret(code))


def call_key(code: str) -> bytes:
    """k_call from the patient code of a 1:1 appointment, or a conference's call code."""
    return call_key_from_secret(join_secret(code))


def sdp_mac(k_call: bytes, appointment_id: str, role: str, fingerprints: list[str], ice_ufrag: str) -> bytes:
    return h("vdc/v1/sdp-fp", appointment_id, role, *sorted(fingerprints), ice_ufrag, key=k_call)


class CodeSecrets:
    """A client's per-session memo of code secrets, so checking a code and joining with it (or deriving the
    join token and k_call of the same code) costs one Argon2id run. Bounded; keyed by the normalised code."""

    def __init__(self, size: int = 32):
        self._size = size
        self._secrets: OrderedDict[str, bytes] = OrderedDict()

    def secret(self, code: str) -> bytes:
        key = normalise_code(code)
        if key in self._secrets:
            self._secrets.move_to_end(key)
            return self._secrets[key]
        secret = join_secret(key)
        self._secrets[key] = secret
        if len(self._secrets) > self._size:
            self._secrets.popitem(last=False)
        return secret

    def join_token(self, code: str) -> bytes:
        return join_token_from_secret(self.secret(code))

    def call_key(self, code: str) -> bytes:
        return call_key_from_secret(self.secret(code))

    def clear(self) -> None:
        self._secrets.clear()
