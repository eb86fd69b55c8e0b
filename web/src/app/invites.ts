// Einladung mit Einmalcode (design/crypto.md §8a item 10), mirroring invite / redeem_invite /
// certificates_to_sign of interfaces/client/users.py. The server sees only the invite token; the secret s_inv
// stays on the inviting browser (inviteSecrets below) to check the employee's invite proof before the
// organisation certifies their password key.
import { indexedStore } from "./idb";
import {
  deviceKeys, equal, fromHex, inviteProof, inviteSecret, inviteToken, newCode, normaliseCode, pairingKey,
  pairingTagNewDevice, PASSWORD_MEM, PASSWORD_OPS, passwordKeys, randomBytes, ready, SALT_BYTES, shortNameKey,
  sign, TamperingDetected, toHex, transcripts as t,
} from "../protocol/index";
import { argon2InWorker, type Progress } from "../protocol/argon2-worker";
import { MSG_SHORT_NAME } from "../protocol/codes";
import { api, ApiError } from "./api";
import { challengeFor, type Enrollment, MSG_ENROLLED, type Session } from "./client";
import { loadDevice, requestPersistence, saveDevice } from "./devicestore";
import { proof } from "./devices";
import { listUsers, type User } from "./users";
import { password as passwordProblem } from "./validation";

export const MSG_INVITE_CODE = "Der Einladungscode hat 12 Zeichen (XXXX-XXXX-XXXX).";
export const MSG_INVITE_PROOF = (user: string) =>
  `Sicherheitswarnung: Das Passwort von ${user} passt nicht zum Einladungscode – es wurde womöglich auf dem ` +
  "Server ausgetauscht. Es wird nichts bestätigt. Bitte eine neue Einladung ausstellen.";
export const MSG_INVITE_ELSEWHERE =
  "Die Einladung dieses Benutzers wurde an einem anderen Gerät ausgestellt. Bitte das neue Gerät dort " +
  "freigeben, damit dessen Passwort geprüft und bestätigt werden kann.";

// --- s_inv at rest: its own IndexedDB database, sealed with a non-extractable AES-GCM key like the device seed.
const DB = "sprechzimmer-invites";

const run = indexedStore(DB, (db) => {
  db.createObjectStore("keys");
  db.createObjectStore("secrets");
});

async function wrapKey(): Promise<CryptoKey> {
  const existing = await run<CryptoKey | undefined>("keys", "readonly", (s) => s.get("invite-wrap"));
  if (existing) return existing;
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  await run("keys", "readwrite", (s) => s.put(key, "invite-wrap"));
  return key;
}

const slot = (orgId: string, userKey: string) => `${orgId}|${userKey}`;

async function saveInviteSecret(orgId: string, userKey: string, secret: Uint8Array): Promise<void> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aad = new TextEncoder().encode(slot(orgId, userKey));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, await wrapKey(),
    secret as Uint8Array<ArrayBuffer>);
  await run("secrets", "readwrite", (s) => s.put({ iv, sealed }, slot(orgId, userKey)));
}

async function inviteSecretFor(orgId: string, userKey: string): Promise<Uint8Array | null> {
  const stored = await run<{ iv: Uint8Array<ArrayBuffer>; sealed: ArrayBuffer } | undefined>("secrets", "readonly",
    (s) => s.get(slot(orgId, userKey)));
  if (!stored) return null;
  const aad = new TextEncoder().encode(slot(orgId, userKey));
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: stored.iv, additionalData: aad },
    await wrapKey(), stored.sealed));
}

async function forgetInviteSecret(orgId: string, userKey: string): Promise<void> {
  await run("secrets", "readwrite", (s) => s.delete(slot(orgId, userKey)));
}

// --- the admin's side ---------------------------------------------------------------------------------------

/** A one-time invite code (72 h) for a new user. The server receives only a token derived from it. */
export async function inviteUser(session: Session, userShort: string, role: string,
  onProgress?: Progress): Promise<string> {
  const key = shortNameKey(userShort);
  if (key === null) throw new ApiError(400, MSG_SHORT_NAME, { user_short: [MSG_SHORT_NAME] });
  const code = newCode();
  const secret = await inviteSecret(code, argon2InWorker(onProgress));
  const sent = await proof(session, "user-invite", key);
  await api("POST", "/invites", { user_short: userShort.trim(), role, token: toHex(inviteToken(secret)), proof: sent },
    true);
  await saveInviteSecret(session.orgId, key, secret);
  return code;
}

/** (user, certificate) for every active uncertified user whose invite this browser issued, after checking each
 * invite proof; one that does not verify stops everything (the server may have swapped the password key). */
export async function certificatesToSign(session: Session): Promise<{ users: User[]; certs: [User, string][] }> {
  const users = await listUsers();
  const certs: [User, string][] = [];
  if (session.role !== "admin") return { users, certs };
  for (const user of users) {
    if (user.certified || !user.active) continue;
    const key = shortNameKey(user.user_short)!;
    const secret = await inviteSecretFor(session.orgId, key);
    if (!secret) continue; // issued on another browser: only that one can check the proof
    let proven = false;
    try {
      const expected = inviteProof(secret, session.orgId, key, fromHex(user.pk_pw));
      proven = !!user.invite_proof && equal(expected, fromHex(user.invite_proof));
    } catch {
      proven = false;
    }
    if (!proven) throw new TamperingDetected(MSG_INVITE_PROOF(user.user_short));
    certs.push([user, toHex(sign(session.keyring.signing, t.userCert(session.orgId, key, user.role,
      fromHex(user.pw_salt), user.pw_ops, user.pw_mem, fromHex(user.pk_pw))))]);
  }
  return { users, certs };
}

export async function sendCertificates(session: Session, certs: [User, string][]): Promise<void> {
  for (const [user, cert] of certs) {
    const key = shortNameKey(user.user_short)!;
    const sent = await proof(session, "user-certify", key);
    await api("POST", `/users/${encodeURIComponent(user.user_short)}/certificate`, { cert, proof: sent }, true);
    await forgetInviteSecret(session.orgId, key);
  }
}

// --- the employee's side, on a new browser ------------------------------------------------------------------

/** Choose the password and enrol this browser; returns what the login page's waiting flow needs. */
export async function redeemInvite(org: string, user: string, code: string, password: string, name: string,
  onProgress?: Progress): Promise<Enrollment> {
  const orgKey = shortNameKey(org);
  if (!orgKey) throw new ApiError(400, MSG_SHORT_NAME, { org: [MSG_SHORT_NAME] });
  const userKey = shortNameKey(user);
  if (!userKey) throw new ApiError(400, MSG_SHORT_NAME, { user: [MSG_SHORT_NAME] });
  if (normaliseCode(code) === null) throw new ApiError(400, MSG_INVITE_CODE, { code: [MSG_INVITE_CODE] });
  const problem = passwordProblem(password);
  if (problem) throw new ApiError(400, problem, { password: [problem] });
  const existing = await loadDevice(orgKey);
  if (existing?.record.pinnedOrgSignPk) throw new ApiError(400, MSG_ENROLLED);
  await ready();
  const third = (from: number) => onProgress && ((f: number) => onProgress((from + f) / 3));
  const salt = randomBytes(SALT_BYTES);
  const keys = await passwordKeys(password, salt, PASSWORD_OPS, PASSWORD_MEM, argon2InWorker(third(0)));
  const pk = keys.signing.publicKey;
  const secret = await inviteSecret(code, argon2InWorker(third(1)));
  const token = inviteToken(secret);
  const seed = randomBytes(32);
  const device = deviceKeys(seed);
  const deviceId = `dev-${toHex(randomBytes(8))}`;
  const pairingCode = newCode();
  const challenge = await challengeFor(org, user, deviceId);
  const message = t.inviteRedeem(org, user, deviceId, name, device.signing.publicKey, device.box.publicKey, salt,
    PASSWORD_OPS, PASSWORD_MEM, pk, token, fromHex(challenge.nonce), location.origin);
  const result = await api<{ org_id: string }>("POST", "/invites/redeem", {
    challenge_id: challenge.challenge_id, token: toHex(token), name,
    dev_sign_pk: toHex(device.signing.publicKey), dev_box_pk: toHex(device.box.publicKey),
    password: { salt: toHex(salt), ops: PASSWORD_OPS, mem: PASSWORD_MEM, pk_pw: toHex(pk) },
    sig_pw: toHex(sign(keys.signing, message)), sig_dev: toHex(sign(device.signing, message)),
  });
  const orgId = String(result.org_id);
  // Only now is org_id known: the invite proof binds the chosen password key to the code (§8a.10).
  const kPair = await pairingKey(pairingCode, orgId, deviceId, argon2InWorker(third(2)));
  const tag = pairingTagNewDevice(kPair, orgId, deviceId, name, device.signing.publicKey, device.box.publicKey);
  await api("POST", "/devices/enroll/tag", { org, device_id: deviceId, tag: toHex(tag),
    sig: toHex(sign(device.signing, t.enrollTag(orgId, deviceId, tag))),
    invite_proof: toHex(inviteProof(secret, orgId, userKey, pk)) });
  await saveDevice({ orgKey, orgId, deviceId, name, pinnedOrgSignPk: null, keyringVersion: 0 },
    { seed: toHex(seed), pairingCode });
  void requestPersistence();
  return { pairingCode, deviceId, password: { salt: toHex(salt), keys } };
}
