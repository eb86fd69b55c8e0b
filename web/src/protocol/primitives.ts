// The primitive map of design/crypto.md §2.1, byte-identical to infrastructure/crypto.py (PyNaCl).
import { type Argon2, SALT_BYTES } from "./argon2";
import { concat, utf8 } from "./bytes";
import { lib } from "./sodium";

export { type Argon2, MASTER_MEM, MASTER_OPS, PASSWORD_MEM, PASSWORD_OPS, SALT_BYTES } from "./argon2";
export { h, kdf } from "./hash";

const NONCE_BYTES = 24;

export function normalisePassword(password: string): Uint8Array {
  return utf8(password.normalize("NFKC"));
}

/** Length in code points after NFKC, which is what the 8–32 rule counts. */
export function passwordLength(password: string): number {
  return [...password.normalize("NFKC")].length;
}

export function argon2Sync(secret: Uint8Array, salt: Uint8Array, ops: number, mem: number): Uint8Array {
  if (salt.length !== SALT_BYTES) throw new Error("Argon2 salts have 16 bytes");
  const s = lib();
  return s.crypto_pwhash(32, secret, salt, ops, mem, s.crypto_pwhash_ALG_ARGON2ID13);
}

export const argon2InThread: Argon2 = async (secret, salt, ops, mem) => argon2Sync(secret, salt, ops, mem);

export function randomBytes(n: number): Uint8Array {
  return lib().randombytes_buf(n);
}

// --- key pairs -----------------------------------------------------------------------------------

export interface SignKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array; // libsodium's 64-byte secret key (seed ‖ pk)
}

export interface BoxKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** PyNaCl SigningKey(seed). */
export function signKeyPair(seed: Uint8Array): SignKeyPair {
  const { publicKey, privateKey } = lib().crypto_sign_seed_keypair(seed);
  return { publicKey, privateKey };
}

/** PyNaCl PrivateKey.from_seed(seed) — never the raw seed as the scalar (crypto.md §8a item 1). */
export function boxKeyPair(seed: Uint8Array): BoxKeyPair {
  const { publicKey, privateKey } = lib().crypto_box_seed_keypair(seed);
  return { publicKey, privateKey };
}

// --- signatures, sealed boxes, AEAD --------------------------------------------------------------

export function sign(key: SignKeyPair, message: Uint8Array): Uint8Array {
  return lib().crypto_sign_detached(message, key.privateKey);
}

/** Never throws: malformed keys and signatures simply do not verify. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return publicKey.length === 32 && signature.length === 64 &&
      lib().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

export function seal(recipientBoxPk: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return lib().crypto_box_seal(plaintext, recipientBoxPk);
}

export function unseal(recipient: BoxKeyPair, sealed: Uint8Array): Uint8Array {
  return lib().crypto_box_seal_open(sealed, recipient.publicKey, recipient.privateKey);
}

/** nonce(24) ‖ ciphertext, PyNaCl's layout (libsodium.js returns the ciphertext alone, fact 4). */
export function aeadEncrypt(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const n = nonce ?? randomBytes(NONCE_BYTES);
  return concat(n, lib().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, null, n, key));
}

export function aeadDecrypt(key: Uint8Array, nonceCt: Uint8Array, aad: Uint8Array): Uint8Array {
  if (nonceCt.length < NONCE_BYTES) throw new Error("ciphertext too short");
  return lib().crypto_aead_xchacha20poly1305_ietf_decrypt(
    null, nonceCt.subarray(NONCE_BYTES), aad, nonceCt.subarray(0, NONCE_BYTES), key);
}

export function secretboxEncrypt(key: Uint8Array, plaintext: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const n = nonce ?? randomBytes(NONCE_BYTES);
  return concat(n, lib().crypto_secretbox_easy(plaintext, n, key));
}

export function secretboxDecrypt(key: Uint8Array, nonceCt: Uint8Array): Uint8Array {
  if (nonceCt.length < NONCE_BYTES) throw new Error("ciphertext too short");
  return lib().crypto_secretbox_open_easy(nonceCt.subarray(NONCE_BYTES), nonceCt.subarray(0, NONCE_BYTES), key);
}
