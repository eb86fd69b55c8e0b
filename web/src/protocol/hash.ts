// BLAKE2b as design/crypto.md §2.1 uses it: h() (crypto_generichash, keyed when a secret is involved) and
// kdf() (crypto_kdf_derive_from_key). A module of its own, without libsodium, so that the patient page's main
// thread loads no second copy of libsodium beside the one in its Argon2 worker (issue 12: ≤ 250 KB gzip before
// the call). Byte-identical to libsodium and PyNaCl: the vectors in web/test check both functions.
import { blake2b } from "@noble/hashes/blake2.js";
import { utf8 } from "./bytes";
import { type Field, lp } from "./encoding";

/** Domain-separated BLAKE2b-256 of lp(fields), keyed when a secret is involved. */
export function h(fields: Field[], key?: Uint8Array): Uint8Array {
  return blake2b(lp(...fields), key && key.length ? { dkLen: 32, key } : { dkLen: 32 });
}

/** crypto_kdf_derive_from_key(32, id, ctx8, root): BLAKE2b keyed with the root, the subkey id as the salt's
 *  first eight bytes (little-endian) and the context as the personalisation's. */
export function kdf(root: Uint8Array, ctx8: string, subkeyId: number): Uint8Array {
  if (ctx8.length !== 8) throw new Error("KDF contexts have exactly eight characters");
  if (root.length !== 32) throw new Error("KDF roots have 32 bytes");
  const salt = new Uint8Array(16);
  new DataView(salt.buffer).setBigUint64(0, BigInt(subkeyId), true);
  const personalization = new Uint8Array(16);
  personalization.set(utf8(ctx8));
  return blake2b(new Uint8Array(0), { dkLen: 32, key: root, salt, personalization });
}
