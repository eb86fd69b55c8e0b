"""Invite codes (design/crypto.md §4.5 as amended by §8a.10): the code gets the join-token treatment, so
the server learns only invite_token = h("vdc/v1/invite", s_inv), and the redeeming employee proves
knowledge of the code when sending pk_pw, so only the admin client that issued the code certifies it."""

from __future__ import annotations

import hmac

from .codes import normalise_code
from .policy import CODE_MEM, CODE_OPS
from .primitives import argon2, h, kdf

INVITE_SALT = h("vdc/v1/invite-salt")[:16]


def invite_secret(code: str) -> bytes:
    """s_inv (one Argon2id run). Raises ValueError for a malformed code."""
    return argon2(normalise_code(code).encode(), INVITE_SALT, CODE_OPS, CODE_MEM)


def invite_token_from_secret(secret: bytes) -> bytes:
    return h("vdc/v1/invite", secret)


def invite_token(code: str) -> bytes:
    return invite_token_from_secret(invite_secret(code))


def invite_proof_key(secret: bytes) -> bytes:
    return kdf(secret, "vdciv_v1", 1)


def invite_proof(secret: bytes, org_id: str, user_key: str, pk_pw: bytes) -> bytes:
    return h("vdc/v1/invite-proof", org_id, user_key, pk_pw, key=invite_proof_key(secret))


def check_invite_proof(secret: bytes, org_id: str, user_key: str, pk_pw: bytes, proof: bytes) -> bool:
    return hmac.compare_digest(invite_proof(secret, org_id, user_key, pk_pw), proof)
