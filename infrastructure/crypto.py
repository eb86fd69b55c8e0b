"""The cryptographic building blocks of design/crypto.md, shared by the server and the Python SDK.

Everything here is byte-compatible with libsodium.js (see shared/vectors/crypto-v1.json): hashes carry
their domain label inside a length-prefixed input, and BLAKE2b salt/person are used only in the KDF form.
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass

import nacl.encoding
import nacl.hash
import nacl.utils
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.pwhash import argon2id
from nacl.secret import Aead, SecretBox
from nacl.signing import SigningKey, VerifyKey

from application.protocol import Field, lp

RAW = nacl.encoding.RawEncoder

# Argon2id floors (§2.4): clients refuse weaker parameters a server might hand out.
PASSWORD_OPS = argon2id.OPSLIMIT_INTERACTIVE
PASSWORD_MEM = argon2id.MEMLIMIT_INTERACTIVE
MASTER_OPS = argon2id.OPSLIMIT_MODERATE
MASTER_MEM = argon2id.MEMLIMIT_MODERATE
SALT_BYTES = argon2id.SALTBYTES

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_ALIASES = {"O": "0", "I": "1", "L": "1"}

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


def normalise_password(password: str) -> bytes:
    return unicodedata.normalize("NFKC", password).encode()


def password_length(password: str) -> int:
    """Length in code points after NFKC, which is what the 8–32 rule counts."""
    return len(unicodedata.normalize("NFKC", password))


def argon2(secret: bytes, salt: bytes, ops: int, mem: int) -> bytes:
    if len(salt) != SALT_BYTES:
        raise ValueError("Argon2 salts have 16 bytes")
    return argon2id.kdf(32, secret, salt, opslimit=ops, memlimit=mem)


def random_bytes(n: int) -> bytes:
    return nacl.utils.random(n)


# --- human codes (access codes, pairing codes, invite codes) -------------------------------------


def encode_code(random8: bytes) -> str:
    """60 random bits as 12 Crockford characters grouped XXXX-XXXX-XXXX."""
    bits = int.from_bytes(random8[:8], "big") >> 4
    chars = "".join(CROCKFORD[(bits >> (5 * (11 - i))) & 31] for i in range(12))
    return f"{chars[0:4]}-{chars[4:8]}-{chars[8:12]}"


def new_code() -> str:
    return encode_code(random_bytes(8))


def normalise_code(text: str) -> str:
    """Forgiving input: case-insensitive, hyphens and spaces ignored, O→0, I/L→1. Raises ValueError."""
    chars = [_CROCKFORD_ALIASES.get(c, c) for c in text.upper() if c not in "- \t"]
    if len(chars) != 12 or any(c not in CROCKFORD for c in chars):
        raise ValueError("not a 12-character code")
    return "".join(chars)


def join_token(code: str) -> bytes:
    """What a client sends to join a call; the server never sees the code itself (§4.10a)."""
    return h("vdc/v1/join", normalise_code(code))


def access_code_tag(join: bytes, pepper: bytes) -> bytes:
    return h("vdc/v1/access-code", join, key=pepper)


def invite_token(code: str) -> bytes:
    """What the server learns of an invite code: never the code itself (like join tokens, §4.10a)."""
    return h("vdc/v1/invite", normalise_code(code))


def invite_tag(token: bytes, pepper: bytes) -> bytes:
    return h("vdc/v1/invite-code", token, key=pepper)


def call_key(patient_code: str) -> bytes:
    return kdf(h("vdc/v1/call-key", normalise_code(patient_code)), "vdccl_v1", 1)


def sdp_mac(k_call: bytes, appointment_id: str, role: str, fingerprints: list[str], ice_ufrag: str) -> bytes:
    return h("vdc/v1/sdp-fp", appointment_id, role, *sorted(fingerprints), ice_ufrag, key=k_call)


# --- key derivations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordKeys:
    signing: SigningKey


@dataclass(frozen=True)
class MasterKeys:
    signing: SigningKey
    box: PrivateKey
    anchor_key: bytes


@dataclass(frozen=True)
class DeviceKeys:
    signing: SigningKey
    box: PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> DeviceKeys:
        return cls(SigningKey(kdf(seed, "vdcdv_v1", 1)), PrivateKey.from_seed(kdf(seed, "vdcdv_v1", 2)))


def password_keys(password: str, salt: bytes, ops: int = PASSWORD_OPS, mem: int = PASSWORD_MEM) -> PasswordKeys:
    if ops < PASSWORD_OPS or mem < PASSWORD_MEM:
        raise ValueError("Argon2 parameters below the floor")
    root = argon2(normalise_password(password), salt, ops, mem)
    return PasswordKeys(SigningKey(kdf(root, "vdcpw_v1", 1)))


def master_keys(master_password: str, salt: bytes, ops: int = MASTER_OPS, mem: int = MASTER_MEM) -> MasterKeys:
    if ops < MASTER_OPS or mem < MASTER_MEM:
        raise ValueError("Argon2 parameters below the floor")
    root = argon2(normalise_password(master_password), salt, ops, mem)
    return MasterKeys(
        SigningKey(kdf(root, "vdcmp_v1", 1)), PrivateKey.from_seed(kdf(root, "vdcmp_v1", 2)), kdf(root, "vdcmp_v1", 3)
    )


def mp_anchor(k_anchor: bytes, org_id: str, org_sign_pk: bytes, mp_sign_pk: bytes, mp_box_pk: bytes) -> bytes:
    return h("vdc/v1/mp-anchor", org_id, org_sign_pk, mp_sign_pk, mp_box_pk, key=k_anchor)


def pairing_key(code: str, org_id: str, device_id: str) -> bytes:
    salt = h("vdc/v1/pair-salt", org_id, device_id)[:16]
    return argon2(normalise_code(code).encode(), salt, PASSWORD_OPS, PASSWORD_MEM)


def pairing_tag_new_device(k_pair: bytes, org_id: str, device_id: str, name: str, dev_sign_pk: bytes,
                           dev_box_pk: bytes) -> bytes:
    return h("vdc/v1/pair-new-device", org_id, device_id, name, dev_sign_pk, dev_box_pk, key=k_pair)


def pairing_tag_approver(k_pair: bytes, org_id: str, device_id: str, org_sign_pk: bytes) -> bytes:
    return h("vdc/v1/pair-approver", org_id, device_id, org_sign_pk, key=k_pair)


def fake_salt(fake_salt_key: bytes, org: str, user: str) -> bytes:
    return h("vdc/v1/fake-salt", org, user, key=fake_salt_key)[:16]


# --- signatures, grants, AEAD ---------------------------------------------------------------------


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Signature check that never raises: malformed keys and signatures simply do not verify."""
    try:
        VerifyKey(public_key).verify(message, signature)
        return True
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False


def sign(key: SigningKey, message: bytes) -> bytes:
    return key.sign(message).signature


def seal(recipient_box_pk: bytes, plaintext: bytes) -> bytes:
    return SealedBox(PublicKey(recipient_box_pk)).encrypt(plaintext)


def unseal(recipient: PrivateKey, sealed: bytes) -> bytes:
    return SealedBox(recipient).decrypt(sealed)


def aead_encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce(24) ‖ ciphertext, as PyNaCl returns it."""
    return bytes(Aead(key).encrypt(plaintext, aad))


def aead_decrypt(key: bytes, nonce_ct: bytes, aad: bytes) -> bytes:
    return Aead(key).decrypt(nonce_ct, aad)


def secretbox_encrypt(key: bytes, plaintext: bytes) -> bytes:
    return bytes(SecretBox(key).encrypt(plaintext))


def secretbox_decrypt(key: bytes, nonce_ct: bytes) -> bytes:
    return SecretBox(key).decrypt(nonce_ct)


# --- transcripts (what gets signed) ---------------------------------------------------------------


def registration_transcript(org_short: str, org_id: str, user_short: str, device_id: str, origin: str) -> bytes:
    return lp("vdc/v1/register", org_short, org_id, user_short, device_id, origin)


def login_transcript(org: str, user: str, device_id: str, nonce: bytes, origin: str) -> bytes:
    return lp("vdc/v1/login", org, user, device_id, nonce, origin)


def user_cert_message(org_id: str, user_short: str, role: str, pw_salt: bytes, ops: int, mem: int,
                      pk_pw: bytes) -> bytes:
    return lp("vdc/v1/user-cert", org_id, user_short, role, pw_salt, ops, mem, pk_pw)


def device_cert_message(org_id: str, device_id: str, name: str, dev_sign_pk: bytes, dev_box_pk: bytes,
                        approved_at: str, approver: str) -> bytes:
    return lp("vdc/v1/device-cert", org_id, device_id, name, dev_sign_pk, dev_box_pk, approved_at, approver)


def grant_message(org_id: str, recipient: str, version: int, sealed: bytes) -> bytes:
    return lp("vdc/v1/keyring-grant", org_id, recipient, version, sealed)
