// Join tokens, the call key and the SDP MAC (design/crypto.md §4.10a as amended by §8a item 4), and the
// invite-code treatment of §8a item 10. The server only ever sees join/invite tokens, never a code.
import { utf8 } from "./bytes";
import { normaliseCode } from "./codes";
// No libsodium here (the patient page's main thread has none): Argon2id is handed in, BLAKE2b is ./hash.
import { type Argon2, PASSWORD_MEM, PASSWORD_OPS, SALT_BYTES } from "./argon2";
import { h, kdf } from "./hash";

export const MSG_NOT_A_CODE = "Bitte den zwölfstelligen Zugangscode eingeben (z. B. 7KWZ-AEAX-CT2A).";

export class NotACode extends Error {
  constructor() {
    super(MSG_NOT_A_CODE);
  }
}

function normalised(code: string): string {
  const n = normaliseCode(code);
  if (n === null) throw new NotACode();
  return n;
}

export const joinSalt = (): Uint8Array => h(["vdc/v1/join-salt"]).slice(0, SALT_BYTES);
export const inviteSalt = (): Uint8Array => h(["vdc/v1/invite-salt"]).slice(0, SALT_BYTES);

/** s = Argon2id(normalised code, join salt, 2, 64 MiB): slow to invert, cached per code by callers. */
export async function joinSecret(code: string, argon2: Argon2): Promise<Uint8Array> {
  return argon2(utf8(normalised(code)), joinSalt(), PASSWORD_OPS, PASSWORD_MEM);
}

/** What a client sends to join; the server stores h("vdc/v1/access-code", join, key=pepper). */
export const joinToken = (secret: Uint8Array): Uint8Array => h(["vdc/v1/join", secret]);

export const accessCodeTag = (join: Uint8Array, pepper: Uint8Array): Uint8Array =>
  h(["vdc/v1/access-code", join], pepper);

/** k_call from s of the patient (or conference call) code. */
export const callKey = (callSecret: Uint8Array): Uint8Array => kdf(h(["vdc/v1/call-key", callSecret]), "vdccl_v1", 1);

/** The MAC's first field: the appointment, and in conferences also both peer ids (docs/calls.md). */
export function macLabel(appointmentId: string, conference: boolean, sender?: string, receiver?: string): string {
  return conference ? `${appointmentId}:${sender}:${receiver}` : appointmentId;
}

export function sdpMac(kCall: Uint8Array, label: string, role: string, fingerprints: string[],
  iceUfrag: string): Uint8Array {
  // Python's sorted() on str compares code points; so does the default sort on ASCII SDP lines.
  return h(["vdc/v1/sdp-fp", label, role, ...[...fingerprints].sort(), iceUfrag], kCall);
}

const FINGERPRINT = /^a=fingerprint:(.+?)\s*$/gm;
const UFRAG = /^a=ice-ufrag:(.+?)\s*$/gm;

/** MAC over the sorted fingerprint lines and the single ICE ufrag of a description; null if malformed. */
export function descriptionMac(kCall: Uint8Array, label: string, role: string, sdp: string): Uint8Array | null {
  const fingerprints = [...sdp.matchAll(FINGERPRINT)].map((m) => m[1]);
  const ufrags = new Set([...sdp.matchAll(UFRAG)].map((m) => m[1]));
  if (!fingerprints.length || ufrags.size !== 1) return null;
  return sdpMac(kCall, label, role, fingerprints, [...ufrags][0]);
}

// --- invite codes (§8a item 10) ------------------------------------------------------------------

export async function inviteSecret(code: string, argon2: Argon2): Promise<Uint8Array> {
  return argon2(utf8(normalised(code)), inviteSalt(), PASSWORD_OPS, PASSWORD_MEM);
}

export const inviteToken = (secret: Uint8Array): Uint8Array => h(["vdc/v1/invite", secret]);

export const inviteProofKey = (secret: Uint8Array): Uint8Array => kdf(secret, "vdciv_v1", 1);

export const inviteProof = (secret: Uint8Array, orgId: string, userKey: string, pkPw: Uint8Array): Uint8Array =>
  h(["vdc/v1/invite-proof", orgId, userKey, pkPw], inviteProofKey(secret));
