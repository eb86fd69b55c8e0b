"""The Sprechzimmer client protocol (design/crypto.md, v1.1): everything a client must compute byte for byte
the same way as every other client and the server — encodings and signed-message layouts, the KDF policy,
human codes, short names, key derivations, join/invite tokens and the typed values that travel.

It imports nothing of the server (no application, infrastructure, interfaces, projections, domain or
eventsourcing), so the Python SDK depends on it alone and the TypeScript client mirrors it module by module:

- `encoding`  lp() and hex helpers (stdlib)
- `layouts`   every signed or MACed message (stdlib)
- `names`     short names and password rules with their German messages (stdlib; the domain imports it)
- `codes`     Crockford codes (stdlib)
- `policy`    Argon2id parameters and the floors clients enforce (stdlib)
- `primitives` BLAKE2b hash/KDF, Argon2id, signatures, sealed boxes, AEAD (PyNaCl)
- `keys`      password, master-password and device keys, the anchor, pairing
- `calls`     join tokens, call keys, SDP MACs (§4.10a, §8a.4)
- `invites`   invite tokens and proofs (§8a.10)
- `keyring`   the organisation keyring, grants, the keyring head (§2.3, §8a.1, §8a.11)
- `values`    certificates, master keys, bank mandate (what travels besides grants)
- `records`   the end-to-end encrypted record envelope (§2.3)
- `errors`    TamperingDetected, raised when the server's answer does not verify

Importing this package itself loads nothing beyond the standard library."""
