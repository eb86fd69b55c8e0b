"""The server's crypto adapter (application.ports.Crypto): the primitives it shares with every client come
from the protocol package; what is defined here only the server computes — peppered tags of access and
invite tokens and fake salts for unknown accounts (design/crypto.md §2.3, §4.3, §4.10a)."""

from __future__ import annotations

from sprechzimmer_protocol.calls import join_token
from sprechzimmer_protocol.codes import normalise_code
from sprechzimmer_protocol.encoding import lp
from sprechzimmer_protocol.primitives import (
    aead_decrypt,
    aead_encrypt,
    h,
    kdf,
    random_bytes,
    seal,
    secretbox_decrypt,
    secretbox_encrypt,
    verify,
)

__all__ = [
    "access_code_tag", "aead_decrypt", "aead_encrypt", "fake_salt", "h", "invite_tag", "join_token", "kdf", "lp",
    "normalise_code", "random_bytes", "seal", "secretbox_decrypt", "secretbox_encrypt", "verify",
]


def access_code_tag(join: bytes, pepper: bytes) -> bytes:
    """What the server stores and looks up of a join token: keyed, so a leaked table reveals nothing."""
    return h("vdc/v1/access-code", join, key=pepper)


def invite_tag(token: bytes, pepper: bytes) -> bytes:
    return h("vdc/v1/invite-code", token, key=pepper)


def fake_salt(fake_salt_key: bytes, org: str, user: str) -> bytes:
    """Deterministic per unknown account, so /auth/start does not reveal which accounts exist (§4.3)."""
    return h("vdc/v1/fake-salt", org, user, key=fake_salt_key)[:16]
