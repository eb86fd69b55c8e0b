// What an Argon2id derivation is, and the floors of design/crypto.md §2.4, without libsodium itself: the
// derivation runs in a Worker in the app (design/web.md fact 8), in-thread only in tests and the SDK.
export const PASSWORD_OPS = 2;
export const PASSWORD_MEM = 64 * 1024 * 1024;
export const MASTER_OPS = 3;
export const MASTER_MEM = 256 * 1024 * 1024;
export const SALT_BYTES = 16;

export type Argon2 = (secret: Uint8Array, salt: Uint8Array, ops: number, mem: number) => Promise<Uint8Array>;
