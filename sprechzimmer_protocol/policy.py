"""The KDF policy (design/crypto.md §2.4): Argon2id parameters clients use and the floors they enforce on
whatever a server hands out, so a malicious server cannot downgrade them. Pure standard library
(libsodium's INTERACTIVE and MODERATE limits, spelled out)."""

from __future__ import annotations

PASSWORD_OPS = 2  # OPSLIMIT_INTERACTIVE
PASSWORD_MEM = 64 * 1024 * 1024  # MEMLIMIT_INTERACTIVE
MASTER_OPS = 3  # OPSLIMIT_MODERATE
MASTER_MEM = 256 * 1024 * 1024  # MEMLIMIT_MODERATE
SALT_BYTES = 16
CODE_OPS, CODE_MEM = PASSWORD_OPS, PASSWORD_MEM  # pairing, join and invite codes (§4.4, §8a.4, §8a.10)

MSG_WEAK_PARAMETERS = "Der Server verlangt zu schwache Parameter für die Schlüsselableitung."


class WeakParameters(ValueError):
    """Parameters below the floor: a client refuses them (the server may be trying a downgrade)."""

    def __init__(self) -> None:
        super().__init__(MSG_WEAK_PARAMETERS)


def check_password_parameters(ops: int, mem: int, salt: bytes | None = None) -> None:
    if ops < PASSWORD_OPS or mem < PASSWORD_MEM or (salt is not None and len(salt) != SALT_BYTES):
        raise WeakParameters()


def check_master_parameters(ops: int, mem: int, salt: bytes | None = None) -> None:
    if ops < MASTER_OPS or mem < MASTER_MEM or (salt is not None and len(salt) != SALT_BYTES):
        raise WeakParameters()
