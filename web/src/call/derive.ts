// The slow part of joining (design/crypto.md §8a.4): Argon2id of the code in a Worker with progress, then the
// join token and k_call. Imported on demand; libsodium is loaded by the Argon2 worker alone (BLAKE2b is
// ../protocol/hash), so the patient page carries one copy of it.
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { callKey, joinSecret, joinToken } from "../protocol/calls";

export interface CallKeys {
  joinToken: Uint8Array;
  kCall: Uint8Array;
}

/** `callCode` is the code the MACs are keyed with: the patient code in 1:1 calls (also for the practitioner),
 *  the conference's separate call code otherwise. One Argon2id run per distinct code. */
export async function deriveCallKeys(code: string, callCode: string | null, onProgress?: Progress): Promise<CallKeys> {
  const secret = await joinSecret(code, argon2InWorker(onProgress));
  const callSecret = callCode && callCode !== code ? await joinSecret(callCode, argon2InWorker()) : secret;
  return { joinToken: joinToken(secret), kCall: callKey(callSecret) };
}
