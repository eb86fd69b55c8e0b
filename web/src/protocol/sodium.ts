// libsodium (sumo build: the standard build lacks crypto_pwhash at runtime, design/crypto.md §6.1).
// Every primitive is synchronous once the WebAssembly module is ready, so callers await `ready()` once.
import sodium from "libsodium-wrappers-sumo";

export type Sodium = typeof sodium;

let loaded: Promise<Sodium> | null = null;

export function ready(): Promise<Sodium> {
  loaded ??= sodium.ready.then(() => sodium);
  return loaded;
}

/** The module after `ready()`; throws if used too early, which is a programming error. */
export function lib(): Sodium {
  if (typeof sodium.crypto_generichash !== "function") {
    throw new Error("libsodium is not ready: await ready() first");
  }
  return sodium;
}
