// One Argon2id derivation per worker (design/web.md fact 8): it blocks its thread for up to seconds, so it
// never runs on the page's main thread. The page terminates the worker afterwards, freeing its memory.
import { argon2Sync } from "./primitives";
import { ready } from "./sodium";

export interface Argon2Request {
  secret: Uint8Array;
  salt: Uint8Array;
  ops: number;
  mem: number;
}

self.onmessage = async (event: MessageEvent<Argon2Request>) => {
  const { secret, salt, ops, mem } = event.data;
  try {
    await ready();
    const root = argon2Sync(secret, salt, ops, mem);
    (self as unknown as Worker).postMessage({ root });
  } catch (error) {
    (self as unknown as Worker).postMessage({ error: String(error) });
  }
};
