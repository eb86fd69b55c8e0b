"""The cryptographic building blocks (design/crypto.md §2.1), byte-compatible with libsodium.js: hashes carry
their domain label inside a length-prefixed input, and BLAKE2b salt/person are used only in the KDF form."""

from __future__ import annotations

import struct

import nacl.encoding
import nacl.hash
import nacl.utils
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.pwhash import argon2id
from nacl.secret import Aead, SecretBox
from nacl.signing import SigningKey, VerifyKey

from .encoding import Field, lp
from .policy import SALT_BYTES

RAW = nacl.encoding.RawEncoder

__all__ = ["CryptoError", "PrivateKey", "SigningKey"]  # re-exported for typing the keys callers hold


def kdf(root: bytes, ctx8: str, subkey_id: int) -> bytes:
    """crypto_kdf_derive_from_key(32, subkey_id, ctx8, root)."""
    if len(ctx8) != 8:
        raise ValueError("KDF contexts have exactly eight characters")
    return nacl.hash.blake2b(
        b"", digest_size=32, key=root, salt=struct.pack("<Q", subkey_id) + bytes(8),
        person=ctx8.encode() + bytes(8), encoder=RAW,
    )


def h(*fields: Field, key: bytes = b"") -> bytes:
    """Domain-separated BLAKE2b-256 of lp(fields), keyed when a secret is involved."""
    return nacl.hash.blake2b(lp(*fields), key=key, digest_size=32, encoder=RAW)


def argon2(secret: bytes, salt: bytes, ops: int, mem: int) -> bytes:
    """Argon2id, 32 bytes. Parameters are always explicit: PyNaCl's defaults are SENSITIVE (§7)."""
    if len(salt) != SALT_BYTES:
        raise ValueError("Argon2 salts have 16 bytes")
    return argon2id.kdf(32, secret, salt, opslimit=ops, memlimit=mem)


def random_bytes(n: int) -> bytes:
    return nacl.utils.random(n)


def signing_key(seed: bytes) -> SigningKey:
    return SigningKey(seed)


def box_key(seed: bytes) -> PrivateKey:
    """crypto_box_seed_keypair(seed): every X25519 key pair of the protocol, org_box included (§8a.1)."""
    return PrivateKey.from_seed(seed)


def sign_pk(key: SigningKey) -> bytes:
    return key.verify_key.encode()


def box_pk(key: PrivateKey) -> bytes:
    return bytes(key.public_key)


def sign(key: SigningKey, message: bytes) -> bytes:
    return key.sign(message).signature


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Signature check that never raises: malformed keys and signatures simply do not verify."""
    try:
        VerifyKey(public_key).verify(message, signature)
        return True
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False


def seal(recipient_box_pk: bytes, plaintext: bytes) -> bytes:
    return SealedBox(PublicKey(recipient_box_pk)).encrypt(plaintext)


def unseal(recipient: PrivateKey, sealed: bytes) -> bytes:
    return SealedBox(recipient).decrypt(sealed)


def aead_encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """XChaCha20-Poly1305-IETF: nonce(24) ‖ ciphertext, as PyNaCl returns it (§7: split in JS)."""
    return bytes(Aead(key).encrypt(plaintext, aad))


def aead_decrypt(key: bytes, nonce_ct: bytes, aad: bytes) -> bytes:
    return Aead(key).decrypt(nonce_ct, aad)


def secretbox_encrypt(key: bytes, plaintext: bytes) -> bytes:
    return bytes(SecretBox(key).encrypt(plaintext))


def secretbox_decrypt(key: bytes, nonce_ct: bytes) -> bytes:
    return SecretBox(key).decrypt(nonce_ct)
